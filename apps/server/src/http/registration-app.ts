import type { Server as TlsServer } from 'node:tls';
import { TokenBuckets } from '@palisade/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { LIMITS } from '@palisade/protocol';
import { type ApiContext, mountApi } from '../api/index.js';
import { installRouteRoles } from '../api/route-guard.js';
import { checkInRoute } from '../registration/checkin.js';
import type { RegistrationContext } from '../registration/context.js';
import { registerRoute } from '../registration/register.js';
import { renewRoute } from '../registration/renew.js';
import { installErrorHandlers } from './errors.js';
import { serveConsole } from '../console/static.js';
import { ConnectionGate, type GateStats } from '../limits/connection-gate.js';
import {
  DEFAULT_LIMITS,
  httpServerOptions,
  type ListenerLimits,
  registrationCaps,
} from '../limits/listener-limits.js';
import { TrustedAddresses } from '../limits/trusted-addresses.js';
import { mountMetrics } from '../metrics/metrics-route.js';
import { mountProbes } from './probes.js';
import { registerProtobufParser } from './protobuf-body.js';
import { installRequestLog, requestId } from './request-log.js';
import { schemaErrorFormatter, validatorCompiler } from './schema-errors.js';

/** RegistrationApp is the registration listener's Fastify instance and its connection caps. */
export interface RegistrationApp {
  instance: FastifyInstance;
  connections(): GateStats;
}

/**
 * buildRegistrationApp is the HTTPS listener of the registration service: register and check-in
 * (protobuf) and the admin API (JSON). It asks for a client certificate but does not require one,
 * because an agent that registers has none yet; check-in verifies it itself. Every route must have
 * an entry in ROUTE_ROLES (installRouteRoles refuses to register one without).
 */
export function buildRegistrationApp(
  reg: RegistrationContext,
  api: ApiContext,
  limits: ListenerLimits = DEFAULT_LIMITS,
  trusted: TrustedAddresses = new TrustedAddresses(),
): RegistrationApp {
  const app = Fastify({
    https: {
      // The live material; the caller attaches the server (ServerTls.attach) to follow renewals.
      ...reg.tls.contextOptions(),
      requestCert: true,
      rejectUnauthorized: false,
      // Handshake, header, request (body included) and keep-alive timeouts (ListenerLimits).
      ...httpServerOptions(limits),
    },
    // Fastify sets these on the server itself (its defaults would replace ours): idle, request, keep-alive.
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    bodyLimit: LIMITS.maxRequestBytes,
    // Our own logging: request logs could carry tokens in URLs or headers.
    logger: false,
    // Each request's id (X-Request-Id, http/request-log.ts), in its log lines and its answer.
    genReqId: requestId,
    // Route schemas say additionalProperties: false; an unknown field is an error, not dropped.
    ajv: { customOptions: { removeAdditional: false } },
    return503OnClosing: true,
    // Admin API requests are checked against their route's JSON schema (api/schema.ts); the
    // error names the field, in the one error shape (http/schema-errors.ts).
    schemaErrorFormatter,
  });
  app.setValidatorCompiler(validatorCompiler);
  const gate = new ConnectionGate(
    app.server as unknown as TlsServer,
    registrationCaps(limits),
    reg.logger,
    trusted,
  );
  installErrorHandlers(app, reg.logger.child({ svc: 'registration' }));
  installRequestLog(app, reg.logger.child({ svc: 'http' }));
  // A request whose API token checked out moves its connection out of the unauthenticated pool.
  installRouteRoles(app, { ...api, onAuthenticated: (req) => gate.promote(req.raw.socket) });
  registerProtobufParser(app);
  registerRoute(
    app,
    reg,
    new TokenBuckets({ burst: limits.registrationBurst, perSecond: limits.registrationPerMinute / 60 }),
  );
  checkInRoute(app, reg);
  renewRoute(app, reg);
  mountApi(app, api);
  mountProbes(app, api, api.dataDir);
  if (api.metrics) mountMetrics(app, api.metrics);
  serveConsole(app);
  return { instance: app, connections: () => gate.stats() };
}
