/**
 * wrapBatchFrame turns stored EventBatchFrame bytes into ClientFrame bytes without decoding them:
 * a ClientFrame holding `batch` (field 2, length-delimited) is the tag byte 0x12, the length as a
 * varint, then the EventBatchFrame bytes. The spool keeps frames exactly as sent, so a resend
 * after a restart is byte-identical to the first send.
 */
export function wrapBatchFrame(frame: Uint8Array): Buffer {
  const len: number[] = [];
  let n = frame.byteLength;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  const out = Buffer.allocUnsafe(1 + len.length + frame.byteLength);
  out[0] = 0x12;
  out.set(len, 1);
  out.set(frame, 1 + len.length);
  return out;
}
