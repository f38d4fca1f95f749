import Fastify, { type FastifyInstance } from 'fastify';
import { LIMITS } from '@palisade/protocol';
import { type ApiContext, mountApi } from '../api/index.js';
import { installRouteRoles } from '../api/route-guard.js';
import { checkInRoute } from '../registration/checkin.js';
import type { RegistrationContext } from '../registration/context.js';
import { registerRoute } from '../registration/register.js';
import { installErrorHandlers } from './errors.js';
import { registerProtobufParser } from './protobuf-body.js';

/**
 * buildRegistrationApp is the HTTPS listener of the registration service: register and check-in
 * (protobuf) and the admin API (JSON). It asks for a client certificate but does not require one,
 * because an agent that registers has none yet; check-in verifies it itself. Every route must have
 * an entry in ROUTE_ROLES (installRouteRoles refuses to register one without).
 */
export function buildRegistrationApp(reg: RegistrationContext, api: ApiContext): FastifyInstance {
  const app = Fastify({
    https: {
      key: reg.tls.serverKeyPem,
      cert: reg.tls.serverCertPem,
      ca: reg.tls.agentCa.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    bodyLimit: LIMITS.maxRequestBytes,
    // Our own logging: request logs could carry tokens in URLs or headers.
    logger: false,
    // Route schemas say additionalProperties: false; an unknown field is an error, not dropped.
    ajv: { customOptions: { removeAdditional: false } },
    return503OnClosing: true,
  });
  installErrorHandlers(app, reg.logger.child({ svc: 'registration' }));
  installRouteRoles(app, api);
  registerProtobufParser(app);
  registerRoute(app, reg);
  checkInRoute(app, reg);
  mountApi(app, api);
  return app;
}
