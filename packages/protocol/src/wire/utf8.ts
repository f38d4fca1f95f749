import { isUtf8 } from 'node:buffer';

/** Strings longer than this are checked natively at once; shorter ones byte by byte first. */
const NATIVE_FROM = 96;

/**
 * isAscii tells whether `buf[start, end)` holds only ASCII bytes (most strings in events do).
 */
export function isAsciiRange(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! > 0x7f) return false;
  return true;
}

/**
 * validUtf8 tells whether `buf[start, end)` is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequence): the rule proto3 sets for `string`
 * fields and that protobuf-es enforces when it decodes them. Every reader of Palisade's wire bytes
 * applies this one rule.
 */
export function validUtf8(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < NATIVE_FROM && isAsciiRange(buf, start, end)) return true;
  return isUtf8(buf.subarray(start, end));
}
