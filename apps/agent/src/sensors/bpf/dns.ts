/** DnsQuestion is the first question of a DNS query packet. */
export interface DnsQuestion {
  id: number;
  hostname: string;
  type: string;
  class: string;
}

const TYPES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  64: 'SVCB',
  65: 'HTTPS',
  255: 'ANY',
};
const CLASSES: Record<number, string> = { 1: 'IN', 3: 'CH', 4: 'HS', 255: 'ANY' };

/**
 * parseDnsQuestion reads the first question of a DNS message copied from a UDP payload. It
 * returns null for anything that is not a well-formed query (a response, no question, a label
 * running past the copy, a compression pointer in a question), never throws.
 */
export function parseDnsQuestion(p: Buffer): DnsQuestion | null {
  if (p.length < 12) return null;
  const flags = p.readUInt16BE(2);
  if (flags & 0x8000) return null; // QR set: a response
  if (p.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let off = 12;
  for (let n = 0; n < 128; n++) {
    const len = p[off];
    if (len === undefined) return null;
    off++;
    if (len === 0) break;
    if (len > 63) return null; // compression pointers or reserved bits do not belong in a query
    if (off + len > p.length) return null;
    labels.push(p.toString('latin1', off, off + len));
    off += len;
  }
  if (off + 4 > p.length) return null;
  const qtype = p.readUInt16BE(off);
  const qclass = p.readUInt16BE(off + 2);
  return {
    id: p.readUInt16BE(0),
    hostname: labels.join('.'),
    type: TYPES[qtype] ?? `TYPE${qtype}`,
    class: CLASSES[qclass] ?? `CLASS${qclass}`,
  };
}
