import { isUtf8 } from 'node:buffer';

/** Strings longer than this are checked natively at once; shorter ones byte by byte first. */
const NATIVE_FROM = 96;

/**
 * isAsciiRange tells whether `buf[start, end)` holds only ASCII bytes (most strings in events
 * do), four bytes at a time through `view`, a DataView of the same bytes.
 */
export function isAsciiRange(view: DataView, buf: Uint8Array, start: number, end: number): boolean {
  let acc = 0;
  let i = start;
  for (; i + 4 <= end; i += 4) acc |= view.getUint32(i);
  for (; i < end; i++) acc |= buf[i]!;
  return (acc & 0x80808080) === 0;
}

/**
 * validUtf8 tells whether `buf[start, end)` is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequence): the rule proto3 sets for `string`
 * fields and that protobuf-es enforces when it decodes them. Every reader of Palisade's wire bytes
 * applies this one rule.
 */
export function validUtf8(view: DataView, buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < NATIVE_FROM && isAsciiRange(view, buf, start, end)) return true;
  return isUtf8(buf.subarray(start, end));
}

/** validUtf8Bytes is validUtf8 over a whole buffer (native). */
export function validUtf8Bytes(buf: Uint8Array): boolean {
  return isUtf8(buf);
}
