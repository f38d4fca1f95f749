import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedAgent, httpsRequest } from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';
import { FILES_PATH } from './receiver.js';
import { MiB } from './file-limits.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('file receiver: chunked upload, duplicates, refusals, content-addressed store', async (t) => {
  const ts = await startTestServer({ files: { chunkBytes: MiB } });
  t.after(() => ts.stop());
  const base = `${ts.server.filesUrl.replace('localhost', '127.0.0.1')}${FILES_PATH}`;
  const reg = {
    registrationUrl: ts.server.registrationUrl,
    registrationKey: ts.registrationKey,
    caPem: ts.server.caPem,
  };
  const a = await SimulatedAgent.register(reg);
  const b = await SimulatedAgent.register(reg);
  const call = (
    who: SimulatedAgent | null,
    method: string,
    path: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
  ) =>
    httpsRequest(`${base}${path}`, {
      method,
      ca: ts.server.caPem,
      ...(who ? { cert: who.identity.certPem, key: who.identity.keyPem } : {}),
      ...(body !== undefined
        ? { body, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }
        : { headers }),
    }).then((r) => ({ status: r.status, json: JSON.parse(r.body.toString('utf8') || '{}') }));

  const data = randomBytes(2 * MiB + 12345);
  const begin = (who: SimulatedAgent, cmd: string) =>
    call(
      who,
      'POST',
      '',
      JSON.stringify({ command_id: cmd, path: '/etc/x', size: data.length, mtime_ms: 1 }),
    );
  const started = await begin(a, 'c1');
  assert.equal(started.status, 200);
  assert.equal(started.json.chunk_bytes, MiB);
  assert.equal(started.json.received, 0);
  const id: string = started.json.upload_id;
  const chunk = (off: number) => data.subarray(off, Math.min(data.length, off + MiB));
  const put = (
    who: SimulatedAgent | null,
    off: number,
    body = chunk(off),
    hash = sha(chunk(off)),
    uid = id,
  ) => call(who, 'PUT', `/${uid}?offset=${off}`, body, { 'x-chunk-sha256': hash });

  // No client certificate, and a certificate of a foreign CA.
  const none = await put(null, 0);
  assert.equal(none.status, 401);
  assert.match(none.json.error.message, /no client certificate/);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreign = await httpsRequest(`${base}/${id}`, {
    ca: ts.server.caPem,
    cert: readFileSync(join(ts.dataDir, 'tls', 'server.pem'), 'utf8'),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  }).catch((e: Error) => ({ status: 0, body: Buffer.from(e.message) }));
  assert.notEqual(foreign.status, 200);

  // First chunk, then the same chunk again (idempotent).
  assert.deepEqual((await put(a, 0)).json, { received: MiB, duplicate: false });
  assert.deepEqual((await put(a, 0)).json, { received: MiB, duplicate: true });
  // Wrong hash: refused, nothing lost.
  const wrong = await put(a, MiB, chunk(MiB), sha(Buffer.from('other')));
  assert.equal(wrong.status, 400);
  assert.match(wrong.json.error.message, /sha256 of the body/);
  // Skipping, overlapping, oversize, another agent's upload, garbage.
  const skip = await put(a, 2 * MiB);
  assert.equal(skip.status, 409);
  assert.match(skip.json.error.message, /skips data: 1048576 bytes received/);
  const overlap = await put(a, 512 * 1024, chunk(512 * 1024));
  assert.equal(overlap.status, 409);
  assert.match(overlap.json.error.message, /chunk boundary/);
  const big = await put(a, MiB, randomBytes(MiB + 1));
  assert.equal(big.status, 413);
  const other = await put(b, MiB);
  assert.equal(other.status, 403);
  assert.match(other.json.error.message, /belongs to another agent/);
  const garbage = await call(a, 'POST', '', '{not json');
  assert.equal(garbage.status, 400);
  assert.match(garbage.json.error.message, /not a JSON object/);
  const badId = await put(a, 0, chunk(0), sha(chunk(0)), '../../etc');
  assert.notEqual(badId.status, 200);
  // Another agent's upload goes on meanwhile.
  const bId = (await begin(b, 'c2')).json.upload_id;
  assert.equal((await put(b, 0, chunk(0), sha(chunk(0)), bId)).status, 200);

  // The state survived every refusal.
  assert.equal((await call(a, 'GET', `/${id}`)).json.received, MiB);
  // Re-begin with the same command and path finds the same upload.
  assert.equal((await begin(a, 'c1')).json.upload_id, id);
  assert.equal((await put(a, MiB)).json.received, 2 * MiB);
  const early = await call(a, 'POST', `/${id}/complete`, JSON.stringify({ sha256: sha(data) }));
  assert.equal(early.status, 409);
  assert.equal((await put(a, 2 * MiB)).json.received, data.length);
  const done = await call(a, 'POST', `/${id}/complete`, JSON.stringify({ sha256: sha(data) }));
  assert.equal(done.status, 200, JSON.stringify(done.json));
  assert.equal(done.json.sha256, sha(data));
  const again = await call(a, 'POST', `/${id}/complete`, JSON.stringify({ sha256: sha(data) }));
  assert.equal(again.status, 200);

  const blob = join(ts.dataDir, 'files', 'blobs', sha(data).slice(0, 2), sha(data));
  assert.equal(sha(readFileSync(blob)), sha(data));
  assert.equal(statSync(blob).mode & 0o777, 0o400);
  assert.equal(statSync(join(ts.dataDir, 'files')).mode & 0o777, 0o700);
  assert.ok(
    !readdirSync(join(ts.dataDir, 'files', 'incoming')).some((f) => f.endsWith('.part') && f.startsWith(id)),
  );
});

test('file receiver: a whole-file hash that does not match discards the upload', async (t) => {
  const ts = await startTestServer({ files: { chunkBytes: MiB } });
  t.after(() => ts.stop());
  const base = `${ts.server.filesUrl.replace('localhost', '127.0.0.1')}${FILES_PATH}`;
  const a = await SimulatedAgent.register({
    registrationUrl: ts.server.registrationUrl,
    registrationKey: ts.registrationKey,
    caPem: ts.server.caPem,
  });
  const tlsOf = { ca: ts.server.caPem, cert: a.identity.certPem, key: a.identity.keyPem };
  const data = randomBytes(1000);
  const body = JSON.stringify({ command_id: 'c', path: '/p', size: 1000, mtime_ms: 0 });
  const s = JSON.parse(
    (
      await httpsRequest(base, {
        ...tlsOf,
        method: 'POST',
        body,
        headers: { 'content-length': String(body.length) },
      })
    ).body.toString(),
  );
  const r = await httpsRequest(`${base}/${s.upload_id}?offset=0`, {
    ...tlsOf,
    method: 'PUT',
    body: data,
    headers: { 'content-length': '1000', 'x-chunk-sha256': sha(data) },
  });
  assert.equal(r.status, 200);
  const c = JSON.stringify({ sha256: sha(Buffer.from('x')) });
  const bad = await httpsRequest(`${base}/${s.upload_id}/complete`, {
    ...tlsOf,
    method: 'POST',
    body: c,
    headers: { 'content-length': String(c.length) },
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.toString(), /discarded/);
  assert.deepEqual(readdirSync(join(ts.dataDir, 'files', 'blobs')), []);
});
