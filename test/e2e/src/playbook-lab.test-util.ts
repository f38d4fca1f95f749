// Test-only: the response lab with a server that takes alerts on stdin (playbook-server.fixture)
// and a webhook receiver (HTTPS, a certificate of a CA the test makes) in the "other" host.
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, tempDir, waitFor } from '@palisade/testkit';
import { BACKEND_NAME, type LabProc, ResponseLab, labProc } from './response-lab.test-util.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WEBHOOK_PORT = 9443;

/** WebhookRequest is one request the receiver got. */
export interface WebhookRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** PlaybookLab runs the playbook end-to-end test's hosts and processes. */
export class PlaybookLab extends ResponseLab {
  private readonly pki = tempDir('palisade-e2e-pb-pki-');
  private serverChild: ChildProcess | undefined;
  receiver: LabProc | undefined;
  /** Fleet-wide playbook isolations per hour the server allows. */
  fleetIsolationsPerHour = 1;

  /** makePki makes a CA and a certificate for the other host's addresses (openssl, argv only). */
  private async makePki(): Promise<void> {
    const p = (f: string) => join(this.pki, f);
    const steps: string[][] = [
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        p('ca.key'),
        '-out',
        p('ca.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=palisade e2e webhook CA',
      ],
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        p('hook.key'),
        '-out',
        p('hook.csr'),
        '-subj',
        '/CN=webhook',
      ],
    ];
    for (const a of steps) {
      const r = await run('openssl', a);
      if (r.code !== 0) throw new Error(`openssl ${a[0]}: ${r.out}`);
    }
    const ext = p('san.ext');
    writeFileSync(ext, `subjectAltName=IP:${this.other.v4},IP:${this.other.v6}\n`);
    const r = await run('openssl', [
      'x509',
      '-req',
      '-in',
      p('hook.csr'),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p('hook.pem'),
      '-days',
      '2',
      '-extfile',
      ext,
    ]);
    if (r.code !== 0) throw new Error(`openssl x509: ${r.out}`);
  }

  /** webhookUrl is the receiver's URL (in the other host, IPv4). */
  get webhookUrl(): string {
    return `https://${this.other.v4}:${WEBHOOK_PORT}/hook`;
  }

  /** startServer starts the fixture server in the backend host (trusting the webhook CA) and the receiver. */
  override async startServer(): Promise<void> {
    if (!existsSync(join(this.pki, 'hook.pem'))) await this.makePki();
    if (!this.receiver) {
      this.receiver = labProc(
        this.lab.spawn(this.other, [
          process.execPath,
          join(HERE, 'webhook-receiver.fixture.js'),
          String(WEBHOOK_PORT),
          join(this.pki, 'hook.pem'),
          join(this.pki, 'hook.key'),
        ]),
      );
      await waitFor('the webhook receiver', () => this.receiver!.output().includes('"listening":true'));
    }
    const child = this.lab.spawn(
      this.backend,
      [
        process.execPath,
        join(HERE, 'playbook-server.fixture.js'),
        this.dataDir,
        BACKEND_NAME,
        String(this.fleetIsolationsPerHour),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { NODE_EXTRA_CA_CERTS: join(this.pki, 'ca.pem') } },
    );
    this.serverChild = child;
    this.server = labProc(child);
    await waitFor(
      'the server to answer',
      async () => {
        if (child.exitCode !== null) throw new Error(`server exited: ${this.server?.output()}`);
        if (!this.server!.output().includes('"ready":true')) return false;
        return (await this.cli(['agents', 'list', '--json'])).code === 0;
      },
      60_000,
    );
  }

  /** alert hands an alert to the server's alert hook and waits until its playbooks ran. */
  // biome-ignore lint/suspicious/noExplicitAny: tests probe the JSON freely
  async alert(alert: Record<string, unknown>): Promise<any> {
    this.serverChild!.stdin!.write(`${JSON.stringify({ alert })}\n`);
    return waitFor(`the playbooks of alert ${alert.id}`, () => {
      for (const line of this.server!.output().split('\n')) {
        if (!line.startsWith('{"ran"')) continue;
        const r = JSON.parse(line).ran;
        if (r.alertId === alert.id) return r;
      }
      return undefined;
    });
  }

  /** webhooks are the requests the receiver got, oldest first. */
  webhooks(): WebhookRequest[] {
    return (this.receiver?.output() ?? '')
      .split('\n')
      .filter((l) => l.startsWith('{"path"'))
      .map((l) => JSON.parse(l) as WebhookRequest);
  }

  override async cleanup(): Promise<void> {
    await this.receiver?.stop();
    await super.cleanup();
  }
}
