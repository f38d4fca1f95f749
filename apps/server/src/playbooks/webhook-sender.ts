import { randomUUID } from 'node:crypto';
import { Backoff, type Logger } from '@palisade/common';
import { checkWebhookUrl, type WebhookUrlPolicy } from './webhook-url.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signBody } from './webhook-signature.js';

/** WebhookOutcome is how a delivery ended. */
export interface WebhookOutcome {
  ok: boolean;
  attempts: number;
  /** "HTTP 204", or why it failed. */
  detail: string;
}

/** WebhookDelivery is one JSON POST to make. */
export interface WebhookDelivery {
  url: string;
  /** The signing secret. */
  secret: string;
  /** The JSON document (sent as it is; `delivery_id` and `sent_at` are added). */
  payload: Record<string, unknown>;
  done(o: WebhookOutcome): void;
}

/** WebhookSenderOptions tune the sender; the defaults suit receivers on the internet. */
export interface WebhookSenderOptions extends WebhookUrlPolicy {
  logger: Logger;
  /** Attempts per delivery, the first included. @default 6 */
  maxAttempts?: number;
  /** Each attempt's time limit. @default 10 s */
  timeoutMs?: number;
  /** Delay before the first retry; doubles up to maxBackoffMs (with jitter). @default 1 s */
  initialBackoffMs?: number;
  /** @default 60 s */
  maxBackoffMs?: number;
  /** Deliveries waiting or in flight at most; more are refused at once. @default 1000 */
  maxQueued?: number;
  /** Deliveries in flight at once. @default 4 */
  concurrency?: number;
}

/** MAX_BODY is the largest webhook body sent: a finding beyond it is refused, not truncated. */
export const MAX_BODY = 1024 * 1024;

function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * WebhookSender posts webhook deliveries: the body is the JSON payload, signed with HMAC-SHA256
 * under the playbook's secret (header `X-Palisade-Signature: sha256=<hex>`, see
 * webhook-signature.ts), with a delivery id that stays the same across retries. A delivery is
 * retried on network errors, timeouts, 408, 425, 429 and 5xx, with exponential backoff and
 * jitter, up to `maxAttempts`; other answers (4xx, redirects, which are not followed) end it.
 * The queue is bounded: a delivery beyond `maxQueued` fails at once ("queue full"). The queue
 * lives in memory: deliveries still waiting when the server stops end as failed ("server
 * stopping").
 */
export class WebhookSender {
  private readonly waiting: WebhookDelivery[] = [];
  private inFlight = 0;
  private stopped = false;
  private readonly aborts = new Set<AbortController>();
  /** Backoff waits, with what ends each early. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly idle: (() => void)[] = [];
  private readonly o: Required<Omit<WebhookSenderOptions, 'logger' | 'allowLoopbackHttp'>>;

  constructor(private readonly opts: WebhookSenderOptions) {
    this.o = {
      maxAttempts: opts.maxAttempts ?? 6,
      timeoutMs: opts.timeoutMs ?? 10_000,
      initialBackoffMs: opts.initialBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 60_000,
      maxQueued: opts.maxQueued ?? 1000,
      concurrency: opts.concurrency ?? 4,
    };
  }

  /** pending is how many deliveries wait or are in flight (retries included). */
  get pending(): number {
    return this.waiting.length + this.inFlight;
  }

  /** send queues a delivery; its `done` is called exactly once. */
  send(d: WebhookDelivery): void {
    const refused = this.refusal(d);
    if (refused) {
      d.done({ ok: false, attempts: 0, detail: refused });
      return;
    }
    this.waiting.push(d);
    this.pump();
  }

  private refusal(d: WebhookDelivery): string {
    if (this.stopped) return 'server stopping';
    const why = checkWebhookUrl(d.url, this.opts);
    if (why) return `not sent: ${why}`;
    if (this.pending >= this.o.maxQueued) {
      this.opts.logger.warn({ url: new URL(d.url).origin }, 'webhook queue full; delivery dropped');
      return `not sent: the webhook queue is full (${this.o.maxQueued})`;
    }
    return '';
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.o.concurrency && this.waiting.length > 0) {
      const d = this.waiting.shift()!;
      this.inFlight++;
      void this.deliver(d).finally(() => {
        this.inFlight--;
        this.pump();
        this.checkIdle();
      });
    }
  }

  private checkIdle(): void {
    if (this.pending === 0) for (const f of this.idle.splice(0)) f();
  }

  /** drained resolves when nothing is queued or in flight (for tests and shutdown). */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async deliver(d: WebhookDelivery): Promise<void> {
    const id = randomUUID();
    const body = JSON.stringify({ delivery_id: id, sent_at: new Date().toISOString(), ...d.payload });
    if (Buffer.byteLength(body) > MAX_BODY) {
      return d.done({
        ok: false,
        attempts: 0,
        detail: `not sent: the body is larger than ${MAX_BODY} bytes`,
      });
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'palisade-playbooks',
      [SIGNATURE_HEADER]: signBody(d.secret, body),
      [DELIVERY_HEADER]: id,
    };
    const backoff = new Backoff({ initialMs: this.o.initialBackoffMs, maxMs: this.o.maxBackoffMs });
    let last = '';
    let attempts = 0;
    for (let attempt = 1; attempt <= this.o.maxAttempts; attempt++) {
      attempts = attempt;
      if (this.stopped)
        return d.done({ ok: false, attempts: attempt - 1, detail: `server stopping; last: ${last}` });
      const ac = new AbortController();
      this.aborts.add(ac);
      const timer = setTimeout(() => ac.abort(), this.o.timeoutMs);
      let retry = true;
      try {
        const res = await fetch(d.url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: ac.signal,
        });
        await res.body?.cancel().catch(() => {});
        last = `HTTP ${res.status}`;
        if (res.status >= 200 && res.status < 300)
          return d.done({ ok: true, attempts: attempt, detail: last });
        retry = retryable(res.status);
      } catch (err) {
        last = ac.signal.aborted ? `no answer within ${this.o.timeoutMs} ms` : describe(err);
      } finally {
        clearTimeout(timer);
        this.aborts.delete(ac);
      }
      if (!retry || attempt === this.o.maxAttempts) break;
      await this.wait(backoff.next());
    }
    this.opts.logger.warn({ url: new URL(d.url).origin, last }, 'webhook delivery failed');
    d.done({ ok: false, attempts, detail: last });
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }

  /** stop ends every waiting delivery as failed, aborts those in flight, and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.waiting.splice(0)) d.done({ ok: false, attempts: 0, detail: 'server stopping' });
    for (const ac of this.aborts) ac.abort();
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve();
    }
    this.timers.clear();
    await this.drained();
  }
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message}: ${cause}` : String(e.message ?? err);
}
