import { mapText, type SigmaString, STAR } from './sigma-string.js';

/**
 * Encodings of the modifier appendix. Encoded values are "byte strings": one JS character per
 * byte (latin1), which is how an encoded value compares against event text.
 */

/** utf8Bytes returns the UTF-8 bytes of a JS string as a byte string. */
export function utf8Bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** utf16 encodes text as UTF-16 bytes (LE or BE), one char per byte. */
export function utf16Bytes(s: string, be: boolean): string {
  const buf = Buffer.from(s, 'utf16le');
  if (be) buf.swap16();
  return buf.toString('latin1');
}

/** base64 of a byte string. */
export function base64(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('base64');
}

/**
 * base64Offsets returns the three forms a byte string takes inside a longer base64 text,
 * depending on its offset modulo 3, with the characters that depend on neighbouring bytes cut
 * off (as pySigma and the Sigma appendix define base64offset).
 */
export function base64Offsets(bytes: string): string[] {
  const starts = [0, 2, 3];
  const ends = [undefined, -3, -2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = base64(' '.repeat(i) + bytes);
    out.push(enc.slice(starts[i], ends[(bytes.length + i) % 3]));
  }
  return out;
}

/** The five dash characters the windash modifier treats as interchangeable. */
export const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];

/**
 * windash returns every permutation of the dash characters in the value's text (5^n values
 * for n dashes), or throws when that exceeds `max`.
 */
export function windash(v: SigmaString, max: number): SigmaString[] {
  const positions: { part: number; at: number }[] = [];
  v.parts.forEach((p, pi) => {
    if (typeof p !== 'string') return;
    for (let i = 0; i < p.length; i++) if (DASHES.includes(p[i]!)) positions.push({ part: pi, at: i });
  });
  const total = DASHES.length ** positions.length;
  if (total > max) {
    throw new Error(
      `windash would make ${total} variants of a value with ${positions.length} dashes (at most ${max})`,
    );
  }
  const out: SigmaString[] = [];
  for (let n = 0; n < total; n++) {
    const parts = v.parts.map((p) => (typeof p === 'string' ? p.split('') : p));
    let k = n;
    for (const pos of positions) {
      (parts[pos.part] as string[])[pos.at] = DASHES[k % DASHES.length]!;
      k = Math.floor(k / DASHES.length);
    }
    out.push({ parts: parts.map((p) => (Array.isArray(p) ? p.join('') : p)) });
  }
  return out;
}

/** wide encodes the text parts as UTF-16 (wildcards stay wildcards); `bom` prepends FF FE. */
export function wideValue(v: SigmaString, be: boolean, bom: boolean): SigmaString {
  const out = mapText(v, (s) => utf16Bytes(s, be));
  if (bom) {
    const b = be ? '\xfe\xff' : '\xff\xfe';
    const first = out.parts[0];
    if (typeof first === 'string') out.parts[0] = b + first;
    else if (first !== STAR) out.parts.unshift(b);
    else out.parts.unshift(b);
  }
  return out;
}
