import {
  type KeyObject,
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
} from 'node:crypto';
import { hostname } from 'node:os';
import {
  CheckInRequestSchema,
  type CheckInResponse,
  CheckInResponseSchema,
  type Endpoints,
  type HostFacts,
  HostFactsSchema,
  PROTOCOL_VERSION,
  RegisterRequestSchema,
  RegisterResponseSchema,
  RenewRequestSchema,
  RenewResponseSchema,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import { httpsRequest } from './https-request.js';

/** AgentIdentity is what a registered agent keeps: its id, private key and certificate. */
export interface AgentIdentity {
  agentId: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  groupId: string;
  registrationUrl: string;
  endpoints: Endpoints | undefined;
}

/** RegistrationRefused is thrown when the server answers registration or check-in with an error. */
export class RegistrationRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'RegistrationRefused';
  }
}

/** RegisterOptions say where and how a simulated agent registers. */
export interface RegisterOptions {
  registrationUrl: string;
  registrationKey: string;
  /** CA that verifies the server (PEM). */
  caPem: string;
  host?: Partial<Omit<HostFacts, '$typeName'>>;
  /** @default 'ec' (P-256) */
  keyType?: 'ec' | 'ed25519';
  /** @default PROTOCOL_VERSION */
  protocolVersion?: number;
  /** Replace the proof of possession (to test refusal). */
  proofOverride?: Uint8Array;
}

/** proofText is the exact message an agent signs at registration (see registration.proto). */
export function proofText(registrationKey: string, machineId: string, spki: Uint8Array): string {
  const h = createHash('sha256').update(spki).digest('hex');
  return `palisade-register-v1\n${registrationKey}\n${machineId}\n${h}`;
}

/** simulatedHost makes plausible host facts; each call gets its own machine id unless given one. */
export function simulatedHost(over: RegisterOptions['host'] = {}): HostFacts {
  return create(HostFactsSchema, {
    hostname: `sim-${hostname()}`,
    os: 'linux',
    osVersion: 'Debian GNU/Linux 12 (bookworm)',
    kernel: '6.1.0-sim',
    arch: 'x64',
    machineId: randomUUID().replaceAll('-', ''),
    agentVersion: '0.1.0-sim',
    ipAddresses: ['127.0.0.1'],
    ...over,
  });
}

async function errorOf(status: number, body: Buffer): Promise<RegistrationRefused> {
  try {
    const j = JSON.parse(body.toString('utf8')) as { error: { code: string; message: string } };
    return new RegistrationRefused(status, j.error.code, j.error.message);
  } catch {
    return new RegistrationRefused(status, 'unknown', body.toString('utf8').slice(0, 200));
  }
}

/**
 * registerAgent creates a key pair locally, proves possession of it and registers over real HTTPS,
 * returning the identity the server issued. The private key never leaves this process.
 */
export async function registerAgent(o: RegisterOptions): Promise<AgentIdentity> {
  const { publicKey, privateKey } =
    o.keyType === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const host = simulatedHost(o.host);
  const proof =
    o.proofOverride ??
    sign(
      o.keyType === 'ed25519' ? null : 'sha256',
      Buffer.from(proofText(o.registrationKey, host.machineId, spki)),
      privateKey,
    );
  const req = create(RegisterRequestSchema, {
    protocolVersion: o.protocolVersion ?? PROTOCOL_VERSION,
    registrationKey: o.registrationKey,
    host,
    publicKeySpki: spki,
    proofOfPossession: proof,
  });
  const res = await httpsRequest(`${o.registrationUrl}/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: toBinary(RegisterRequestSchema, req),
    ca: o.caPem,
  });
  if (res.status !== 200) throw await errorOf(res.status, res.body);
  const r = fromBinary(RegisterResponseSchema, res.body);
  return {
    agentId: r.agentId,
    keyPem: (privateKey as KeyObject).export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: r.certificatePem,
    caPem: r.caPem,
    groupId: r.groupId,
    registrationUrl: o.registrationUrl,
    endpoints: r.endpoints,
  };
}

/** checkIn posts a CheckInRequest over mutual TLS with the agent's certificate. */
export async function checkIn(
  id: AgentIdentity,
  req: Partial<Omit<ReturnType<typeof create<typeof CheckInRequestSchema>>, '$typeName'>> = {},
): Promise<CheckInResponse> {
  const body = create(CheckInRequestSchema, { protocolVersion: PROTOCOL_VERSION, ...req });
  const res = await httpsRequest(`${id.registrationUrl}/v1/checkin`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: toBinary(CheckInRequestSchema, body),
    ca: id.caPem,
    cert: id.certPem,
    key: id.keyPem,
  });
  if (res.status !== 200) throw await errorOf(res.status, res.body);
  return fromBinary(CheckInResponseSchema, res.body);
}

/** renewProofText is the exact message an agent signs with its NEW key to renew (see registration.proto). */
export function renewProofText(agentId: string, currentCertPem: string, spki: Uint8Array): string {
  const cert = createHash('sha256').update(new X509Certificate(currentCertPem).raw).digest('hex');
  return `palisade-renew-v1\n${agentId}\n${cert}\n${createHash('sha256').update(spki).digest('hex')}`;
}

/** RenewOptions adjust renewAgent (to test refusals). */
export interface RenewOptions {
  /** @default a new P-256 key */
  keyType?: 'ec' | 'ed25519';
  /** Replace the proof of possession. */
  proofOverride?: Uint8Array;
  /** Send this private key's public key instead of a new one (PKCS#8 PEM). */
  reuseKeyPem?: string;
  /** @default PROTOCOL_VERSION */
  protocolVersion?: number;
}

/**
 * renewAgent renews a simulated agent's certificate over mutual TLS with its current one: a new
 * key pair made here, the proof signed with it. Returns the identity with the new key and
 * certificate (the server accepts both until the new one is used). Rejects with
 * RegistrationRefused when the server refuses.
 */
export async function renewAgent(id: AgentIdentity, o: RenewOptions = {}): Promise<AgentIdentity> {
  let privateKey: KeyObject;
  if (o.reuseKeyPem) privateKey = createPrivateKey(o.reuseKeyPem);
  else
    privateKey = (
      o.keyType === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'P-256' })
    ).privateKey;
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const proof =
    o.proofOverride ??
    sign(
      privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256',
      Buffer.from(renewProofText(id.agentId, id.certPem, spki)),
      privateKey,
    );
  const req = create(RenewRequestSchema, {
    protocolVersion: o.protocolVersion ?? PROTOCOL_VERSION,
    publicKeySpki: spki,
    proofOfPossession: proof,
  });
  const res = await httpsRequest(`${id.registrationUrl}/v1/renew`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: toBinary(RenewRequestSchema, req),
    ca: id.caPem,
    cert: id.certPem,
    key: id.keyPem,
  });
  if (res.status !== 200) throw await errorOf(res.status, res.body);
  const r = fromBinary(RenewResponseSchema, res.body);
  return {
    ...id,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: r.certificatePem,
    caPem: r.caBundlePem || id.caPem,
  };
}
