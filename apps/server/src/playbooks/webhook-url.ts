import { isIP } from 'node:net';

/** WebhookUrlPolicy says which webhook URLs the server accepts. */
export interface WebhookUrlPolicy {
  /**
   * Accept plain http to a loopback address (127.0.0.0/8, ::1, localhost): for tests and a
   * receiver on the server's own host. Never for other hosts. @default false
   */
  allowLoopbackHttp?: boolean;
}

/** MAX_URL is the longest webhook URL accepted. */
export const MAX_URL = 2048;

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/**
 * checkWebhookUrl returns why `v` is not an acceptable webhook URL, or '' when it is: https (or
 * http to loopback when the policy allows it), a host, no user name or password in it (secrets
 * do not belong in URLs that are listed and logged), no fragment, at most 2048 characters.
 */
export function checkWebhookUrl(v: unknown, p: WebhookUrlPolicy): string {
  if (typeof v !== 'string' || v === '') return 'a webhook needs a url';
  if (v.length > MAX_URL) return `the url is longer than ${MAX_URL} characters`;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `${JSON.stringify(v)} is not a URL`;
  }
  if (u.username || u.password) return 'the url must not hold a user name or password';
  if (u.hash) return 'the url must not have a #fragment';
  if (!u.hostname) return 'the url has no host';
  if (u.protocol === 'https:') return '';
  if (u.protocol === 'http:') {
    if (p.allowLoopbackHttp && isLoopback(u.hostname)) return '';
    return p.allowLoopbackHttp
      ? `${JSON.stringify(v)} is plain http to a host that is not loopback; use https`
      : `${JSON.stringify(v)} is plain http; use https (the finding and its signature must not travel in the clear)`;
  }
  return `${JSON.stringify(u.protocol.replace(/:$/, ''))} is not https`;
}
