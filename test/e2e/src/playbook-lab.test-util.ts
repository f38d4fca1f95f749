// Test-only: the response lab whose real `palisade server` (detection on, the default rule pack)
// trusts the CA of a webhook receiver (HTTPS, a certificate the test makes) in the "other" host.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, tempDir, waitFor } from '@palisade/testkit';
import { type LabProc, ResponseLab, labProc } from './response-lab.test-util.js';

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

  /**
   * startServer starts the webhook receiver in the other host, then the lab's `palisade server`
   * allowing `fleetIsolationsPerHour` playbook isolations and trusting the webhook CA.
   */
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
    this.serverFlags = ['--playbook-isolations-per-hour', String(this.fleetIsolationsPerHour)];
    this.serverEnv = { NODE_EXTRA_CA_CERTS: join(this.pki, 'ca.pem') };
    await super.startServer();
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
