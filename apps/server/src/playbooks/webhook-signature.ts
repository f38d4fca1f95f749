import { createHmac, timingSafeEqual } from 'node:crypto';

/** SIGNATURE_HEADER carries `sha256=<hex HMAC-SHA256 of the raw body under the playbook's secret>`. */
export const SIGNATURE_HEADER = 'x-palisade-signature';
/** DELIVERY_HEADER carries the delivery's id, the same on every attempt (receivers drop repeats by it). */
export const DELIVERY_HEADER = 'x-palisade-delivery';

/** signBody is the signature header's value for `body` (the exact bytes sent). */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * verifySignature is what a receiver does: recompute the HMAC over the raw body it received
 * (before any JSON parsing) and compare it in constant time with the header.
 */
export function verifySignature(
  secret: string,
  body: string | Uint8Array,
  header: string | undefined,
): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/.test(header)) return false;
  const want = Buffer.from(signBody(secret, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}
