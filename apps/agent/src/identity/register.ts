import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, type Logger, systemClock } from '@palisade/common';
import {
  PROTOCOL_VERSION,
  RegisterRequestSchema,
  RegisterResponseSchema,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import { HttpError, postProtobuf } from '../transport/https-client.js';
import { collectHostFacts } from './host-facts.js';
import { type Identity, ensureStateDir, saveIdentity } from './identity-store.js';
import { generateAgentKey, proofOfPossession, publicKeySpki } from './keys.js';
import { writeFileSync } from 'node:fs';

/** RegistrationError is fatal: the server refused to register this agent, `code` says why. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** RegisterOptions say where and with what to register. */
export interface RegisterOptions {
  stateDir: string;
  /** Registration service base URL, e.g. https://127.0.0.1:7443 */
  serverUrl: string;
  registrationKey: string;
  /** CA PEM to trust for this first connection; undefined uses the system store. */
  caPem?: string;
  logger: Logger;
  /** The clock of the renewal schedule (when the certificate was received). @default the system clock */
  clock?: Clock;
}

const REASONS: Record<string, string> = {
  invalid_registration_key: 'the registration key is not known to the server',
  expired_registration_key: 'the registration key has expired; ask the operator for the current key',
  revoked_registration_key: 'the registration key was revoked; ask the operator for the current key',
  exhausted_registration_key:
    'the registration key has been used as often as it may; ask the operator for another key',
};

/**
 * register enrols this agent: it makes (or reuses) its private key in the state directory, sends
 * the public key with host facts and a proof of possession, and stores the returned identity.
 */
export async function register(opts: RegisterOptions): Promise<Identity> {
  ensureStateDir(opts.stateDir);
  const keyPath = join(opts.stateDir, 'agent.key');
  // A key left by an interrupted registration is reused: it never left the host.
  let keyPem: string;
  if (existsSync(keyPath)) keyPem = readFileSync(keyPath, 'utf8');
  else {
    keyPem = generateAgentKey();
    writeFileSync(keyPath, keyPem, { mode: 0o600 });
  }
  const host = collectHostFacts();
  const req = create(RegisterRequestSchema, {
    protocolVersion: PROTOCOL_VERSION,
    registrationKey: opts.registrationKey,
    host,
    publicKeySpki: publicKeySpki(keyPem),
    proofOfPossession: proofOfPossession(keyPem, opts.registrationKey, host.machineId),
  });
  const base = opts.serverUrl.replace(/\/+$/, '');
  let body: Uint8Array;
  try {
    body = await postProtobuf(`${base}/v1/register`, toBinary(RegisterRequestSchema, req), {
      tls: { ca: opts.caPem },
    });
  } catch (err) {
    // 429 (the server's per-address registration rate) means "later": registerWithRetry backs off.
    if (err instanceof HttpError && err.status >= 400 && err.status < 500 && err.status !== 429) {
      const why = REASONS[err.code] ?? err.message;
      throw new RegistrationError(err.code, `registration refused (${err.code}): ${why}`);
    }
    throw err;
  }
  const res = fromBinary(RegisterResponseSchema, body);
  if (!res.agentId || !res.certificatePem || !res.caPem) {
    throw new RegistrationError('bad_response', 'registration answer lacks the agent id or certificates');
  }
  const id: Identity = {
    agentId: res.agentId,
    groupId: res.groupId,
    registrationUrl: res.endpoints?.registrationUrl || base,
    telemetryPrimaryUrl: res.endpoints?.telemetryPrimaryUrl ?? '',
    telemetryStandbyUrl: res.endpoints?.telemetryStandbyUrl ?? '',
    keyPem,
    certPem: res.certificatePem,
    certReceivedAt: (opts.clock ?? systemClock).now(),
    caPem: res.caPem,
  };
  saveIdentity(opts.stateDir, id);
  opts.logger.info({ agentId: id.agentId, groupId: id.groupId }, 'registered with the server');
  return id;
}
