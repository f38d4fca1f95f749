import type { Clock, Logger } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import { PlaybookRunner, type Responder } from './playbook-runner.js';
import { PlaybookSecrets } from './playbook-secrets.js';
import { PlaybookService } from './playbook-service.js';
import { WebhookSender, type WebhookSenderOptions } from './webhook-sender.js';

/** PlaybooksDeps are what the playbook side of the server needs. */
export interface PlaybooksDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  response: Responder;
  fleetIsolationsPerHour?: number;
  webhooks?: Omit<WebhookSenderOptions, 'logger'>;
}

/** Playbooks is the assembled playbook side: the service the API and the alert hook use, and its stop. */
export interface Playbooks {
  service: PlaybookService;
  stop(): Promise<void>;
}

/** createPlaybooks assembles the webhook sender, the runner and the service. */
export function createPlaybooks(d: PlaybooksDeps): Playbooks {
  const webhooks = new WebhookSender({ ...d.webhooks, logger: d.logger });
  const secrets = new PlaybookSecrets(d.dataDir);
  const runner = new PlaybookRunner({
    storage: d.storage,
    clock: d.clock,
    logger: d.logger,
    response: d.response,
    webhooks,
    secrets,
    ...(d.fleetIsolationsPerHour !== undefined ? { fleetIsolationsPerHour: d.fleetIsolationsPerHour } : {}),
  });
  const service = new PlaybookService({
    storage: d.storage,
    clock: d.clock,
    logger: d.logger,
    secrets,
    runner,
    urls: { allowLoopbackHttp: d.webhooks?.allowLoopbackHttp === true },
  });
  return {
    service,
    async stop() {
      await runner.idle();
      await webhooks.stop();
      await runner.settled();
    },
  };
}
