// docs/threat-model.md must name every listener the server opens and every file it writes under
// its data directory: the listeners are read from the code, the files from a real server's
// data directory after it has started, enrolled an agent, rotated a key and a CA, and answered /readyz.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SimulatedAgent } from '@palisade/testkit';
import { type TestServer, startTestServer } from './testing/harness.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const DOC = readFileSync(fileURLToPath(new URL('../../../docs/threat-model.md', import.meta.url)), 'utf8');

/** defaultPorts reads the listeners' default ports from the code that binds them. */
function defaultPorts(): number[] {
  const code = ['start-server.ts', 'telemetry/listener-options.ts', 'standby-server.ts']
    .map((f) => readFileSync(join(SRC, f), 'utf8'))
    .join('\n');
  const ports = new Set<number>();
  for (const m of code.matchAll(/[Pp]ort \?\? (\d{2,5})\b/g)) ports.add(Number(m[1]));
  for (const m of code.matchAll(/DEFAULT_\w*PORT = (\d{2,5})\b/g)) ports.add(Number(m[1]));
  return [...ports].sort();
}

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory()
      ? [`${prefix}${n}/`, ...files(join(dir, n), `${prefix}${n}/`)]
      : [`${prefix}${n}`],
  );
}

describe('threat model covers the real server', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  test('every listener the code defines is in the threat model, and a running server opens exactly those', () => {
    const ports = defaultPorts();
    assert.deepEqual(ports, [7443, 7444, 7445], 'listener definitions found in the code');
    for (const p of ports) assert.ok(DOC.includes(`TCP ${p}`), `docs/threat-model.md does not name TCP ${p}`);
    const open = new Set(
      [t.server.registrationUrl, t.server.telemetryUrl, t.server.standbyUrl].map((u) => new URL(u).port),
    );
    assert.equal(open.size, ports.length, 'a running server opens one listener per definition');
  });

  test('every file the server writes in its data directory is named in the threat model', async () => {
    const agent = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    await agent.checkIn();
    assert.equal((await t.api('POST', '/api/v1/keys/rotate', { body: {} })).status, 200);
    assert.equal((await t.api('POST', '/api/v1/ca/rotate', { body: {} })).status, 200);
    assert.equal(
      (await t.api('POST', `/api/v1/agents/${agent.agentId}/restore-code`, { body: {} })).status,
      200,
    );
    assert.equal((await t.api('GET', '/readyz', { token: null })).status, 200);
    const written = files(t.dataDir);
    assert.ok(
      written.includes('tls/ca-next-key.pem') && written.includes('restore-code.key'),
      written.join(', '),
    );
    const missing = written.filter((f) => {
      // A directory is covered when the model names it or a file in it.
      if (f.endsWith('/')) return !DOC.includes(`\`${f}`);
      // A file inside a directory the model describes as a whole (pending-keys/<key id>) is covered by it.
      const dir = f.includes('/') && !f.endsWith('/') ? `${f.slice(0, f.indexOf('/') + 1)}` : '';
      return !DOC.includes(`\`${f}\``) && !(dir && dir !== 'tls/' && DOC.includes(`\`${dir}\``));
    });
    assert.deepEqual(missing, [], `docs/threat-model.md does not name: ${missing.join(', ')}`);
  });
});
