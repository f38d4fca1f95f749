import { connect } from 'node:tls';
import type { TlsMaterial } from './https-client.js';

/**
 * probeTls tells whether a TLS listener at `url` completes a handshake (with our client
 * certificate and the pinned CA) within `timeoutMs`. Used to decide when to fail back to the
 * primary without opening a second telemetry session.
 */
export function probeTls(url: string, tls: TlsMaterial, timeoutMs = 2000): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port || 443);
  return new Promise((resolve) => {
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const sock = connect({
      host,
      port,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: /^[\d.:]+$/.test(host) ? undefined : host,
      ALPNProtocols: ['http/1.1'],
    });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('secureConnect', () => done(sock.authorized));
    sock.once('error', () => done(false));
  });
}
