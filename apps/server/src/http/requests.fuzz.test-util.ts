import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '@palisade/common';
import {
  CheckInRequestSchema,
  PROTOCOL_VERSION,
  RegisterRequestSchema,
  create,
  toBinary,
} from '@palisade/protocol';
import { type FuzzOutcome, type FuzzTarget, fc, mutated, tempDir } from '@palisade/testkit';
import { API_PREFIX, API_ROUTES } from '../api/index.js';
import type { RunningServer } from '../options.js';
import { startServer } from '../start-server.js';
import { PROTOBUF_TYPE } from './protobuf-body.js';

/** A real server (real storage in a temp dir) the request targets inject into, shared while they run. */
class FuzzServer {
  server: RunningServer | undefined;
  dir = '';
  key = '';
  token = '';
  private users = 0;
  async up(): Promise<void> {
    if (this.users++ > 0) return;
    this.dir = tempDir('palisade-fuzz-srv-');
    this.server = await startServer({
      dataDir: this.dir,
      registrationPort: 0,
      telemetryPort: 0,
      standbyPort: 0,
      logLevel: 'silent',
      limits: { registrationBurst: 1e9, registrationPerMinute: 1e9 },
    });
    this.key = readFileSync(join(this.dir, 'registration-key'), 'utf8').trim();
    this.token = readFileSync(join(this.dir, 'admin-token'), 'utf8').trim();
  }
  async down(): Promise<void> {
    if (--this.users > 0) return;
    await this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
const srv = new FuzzServer();

const KNOWN = new Set<number>(Object.values(ERROR_CODES));

/** answered checks an HTTP answer: 2xx, or a 4xx with the one error shape; a 5xx or another shape is a finding. */
function answered(status: number, body: string, what: string): FuzzOutcome {
  if (status >= 200 && status < 300) return 'accepted';
  if (status >= 500) throw new Error(`${what} → ${status} ${body.slice(0, 300)}`);
  let j: { error?: { code?: unknown; message?: unknown } };
  try {
    j = JSON.parse(body);
  } catch {
    throw new Error(`${what} → ${status} with a body that is not JSON: ${body.slice(0, 200)}`);
  }
  if (typeof j.error?.code !== 'string' || typeof j.error.message !== 'string' || !j.error.message)
    throw new Error(`${what} → ${status} without {error:{code,message}}: ${body.slice(0, 200)}`);
  if (!KNOWN.has(status)) throw new Error(`${what} → unexpected status ${status}`);
  return 'refused';
}

const hostFacts = fc.record({
  hostname: fc.string({ maxLength: 80 }),
  machineId: fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string({ maxLength: 40 })),
  osName: fc.string({ maxLength: 20 }),
  kernelRelease: fc.string({ maxLength: 20 }),
});

function protobufTarget(name: string, url: string, valid: fc.Arbitrary<Uint8Array>): FuzzTarget<Uint8Array> {
  return {
    name,
    refusal: '4xx JSON error (bad_request, invalid_credentials, ...)',
    input: fc.oneof(fc.uint8Array({ maxLength: 600 }), valid, mutated(valid)),
    setup: () => srv.up(),
    teardown: () => srv.down(),
    async check(body) {
      const r = await srv.server!.registrationApp.inject({
        method: 'POST',
        url,
        headers: { 'content-type': PROTOBUF_TYPE },
        payload: Buffer.from(body),
      });
      return answered(r.statusCode, r.body, `POST ${url}`);
    },
  };
}

/** REGISTRATION_BODIES: random and mutated RegisterRequest bodies (with the real key, so checks run deep). */
export const REGISTRATION_BODIES = protobufTarget(
  'registration bodies',
  '/v1/register',
  fc
    .record({
      host: hostFacts,
      spki: fc.uint8Array({ maxLength: 120 }),
      proof: fc.uint8Array({ maxLength: 80 }),
      real: fc.boolean(),
      v: fc.constantFrom(PROTOCOL_VERSION, 0, 999),
    })
    .map((r) =>
      toBinary(
        RegisterRequestSchema,
        create(RegisterRequestSchema, {
          protocolVersion: r.v,
          registrationKey: r.real ? srv.key : 'prk_fuzz',
          host: r.host,
          publicKeySpki: r.spki,
          proofOfPossession: r.proof,
        }),
      ),
    ),
);

/** CHECKIN_BODIES: random and mutated CheckInRequest bodies (in-process: no client certificate, refused as such). */
export const CHECKIN_BODIES = protobufTarget(
  'check-in bodies',
  '/v1/checkin',
  fc
    .record({
      host: hostFacts,
      rev: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      pins: fc.array(fc.string({ maxLength: 70 }), { maxLength: 3 }),
    })
    .map((r) =>
      toBinary(
        CheckInRequestSchema,
        create(CheckInRequestSchema, {
          protocolVersion: PROTOCOL_VERSION,
          host: r.host,
          policyRevision: r.rev,
          pinnedCaSha256: r.pins,
        }),
      ),
    ),
);

/** Routes that would change the server's own keys or CA on a valid call: fuzzed with GET only. */
const SKIP_MUTATION = new Set(['/ca/rotate', '/ca/activate', '/ca/retire', '/keys/rotate']);
/** Routes that answer with a stream that stays open (server-sent events): `inject` would wait forever. */
const STREAMING = new Set(['/stream']);
const routes = API_ROUTES.filter(
  (r) => !STREAMING.has(r.url) && !(r.method !== 'GET' && SKIP_MUTATION.has(r.url)),
);
const param = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 30 }),
  fc.constantFrom('default', '..', '%00', '%zz', 'a/b'),
);
const queryKey = fc.oneof(
  fc.constantFrom(
    'limit',
    'cursor',
    'from',
    'to',
    'class',
    'activity',
    'agent',
    'contains',
    'state',
    'type',
    'group',
    'status',
    'actor',
    'outcome',
    'target',
    'action',
  ),
  fc.string({ maxLength: 10 }),
);
const queryValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer().map(String),
  fc.constantFrom('-1', '0', '1e309', 'NaN', '2026-13-45T99:99:99Z', '%', '%zz', '[]', 'true', ''),
);
const jsonBody = fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 50 }), fc.constant('{"name":'));

/** API_PARAMETERS: every admin API route with random path parameters, query strings and JSON bodies, as an admin. */
export const API_PARAMETERS: FuzzTarget<{
  route: number;
  params: string[];
  query: [string, string][];
  body: string;
}> = {
  name: 'API parameters (query, path, body)',
  refusal: '4xx JSON error (validation_failed, bad_request, not_found, ...)',
  input: fc.record({
    route: fc.nat(routes.length - 1),
    params: fc.array(param, { minLength: 3, maxLength: 3 }),
    query: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }),
    body: jsonBody,
  }),
  setup: () => srv.up(),
  teardown: () => srv.down(),
  async check(x) {
    const r = routes[x.route]!;
    let i = 0;
    const path = r.url.replace(/:[A-Za-z_]\w*/g, () => encodeURIComponent(x.params[i++] ?? 'p'));
    const qs = new URLSearchParams(x.query).toString();
    const url = `${API_PREFIX}${path}${qs ? `?${qs}` : ''}`;
    const res = await srv.server!.registrationApp.inject({
      method: r.method,
      url,
      headers: {
        authorization: `Bearer ${srv.token}`,
        ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { 'content-type': 'application/json' }),
      },
      ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: x.body }),
    });
    return answered(res.statusCode, res.body, `${r.method} ${url}`);
  },
};
