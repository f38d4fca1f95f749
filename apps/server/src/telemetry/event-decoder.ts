import type {
  ConnectionInfo,
  DnsQuery,
  Event,
  File,
  NetworkEndpoint,
  Process,
  Traffic,
  User,
} from '@palisade/protocol';
import type { BatchIndex } from '@palisade/storage';

/*
 * Hand-written protobuf decoding of EventBatch for the ingest path. The generic decoder builds
 * messages through reflection and costs several microseconds per event, which made it the largest
 * cost of ingest; this one builds the same plain objects directly (unset message fields are
 * present as `undefined` rather than absent). It must stay field-for-field
 * equal to the generic decoder: event-decoder.test.ts checks that over every field of every
 * message and fails when the schema gains a field this file does not know.
 */

const VARINT = 0;
const LEN = 2;

type SliceableBuffer = Buffer & { utf8Slice(start: number, end: number): string };
// Buffer's own utf8Slice skips the argument checks of toString(); fall back if a runtime lacks it.
const hasUtf8Slice = typeof (Buffer.prototype as Partial<SliceableBuffer>).utf8Slice === 'function';

/*
 * Search slots: the string fields `searchText` (@palisade/protocol) reads, in its order. In check
 * mode the reader notes where each slot's bytes are instead of decoding them (the last value
 * wins, as protobuf merging does), and `indexEventBatch` joins them into the batch's search text.
 */
const S_CMD = 0; // process.cmd_line
const S_PATH = 1; // process.path
const S_CWD = 2; // process.cwd
const S_ACTOR_CMD = 3; // actor_process.cmd_line
const S_ACTOR_PATH = 4; // actor_process.path
const S_FILE = 5; // file.path
const S_FILE_RESULT = 6; // file_result.path
const S_QUERY = 7; // query.hostname
const S_USER = 8; // user.name
const S_DST_IP = 9; // dst_endpoint.ip
const S_DST_HOST = 10; // dst_endpoint.hostname
const S_RAW = 11; // raw_data
const SLOTS = 12;
const NONE = -1;

class Reader {
  pos: number;
  /** start and end of each search slot's bytes in the current event (check mode). */
  readonly slots = new Int32Array(SLOTS * 2);
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    /** false (check mode): check the structure, decode no text and no 64-bit number but the time. */
    readonly strings: boolean,
  ) {
    this.pos = start;
  }

  private want(wt: number, expected: number): void {
    if (wt !== expected) throw new Error(`wire type ${wt} where ${expected} was expected`);
  }

  /** raw32 returns the low 32 bits of a varint (longer varints are consumed whole). */
  raw32(): number {
    const b = this.buf;
    let result = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const byte = b[this.pos++]!;
      if (i < 5) result |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) return result;
    }
    throw new Error('varint longer than 10 bytes');
  }

  u32(wt: number): number {
    this.want(wt, VARINT);
    return this.raw32() >>> 0;
  }

  i32(wt: number): number {
    this.want(wt, VARINT);
    return this.raw32() | 0;
  }

  bool(wt: number): boolean {
    this.want(wt, VARINT);
    return this.raw32() !== 0;
  }

  /**
   * i64/u64 read a varint as a 64-bit value. Without strings (check mode) they only check it and
   * return 0n: no BigInt is made for numbers nobody reads. `time` is exact in both modes.
   */
  i64(wt: number): bigint {
    if (!this.strings) return this.skip64(wt);
    return BigInt.asIntN(64, this.u64(wt));
  }

  time(wt: number): bigint {
    return BigInt.asIntN(64, this.exact64(wt));
  }

  private skip64(wt: number): bigint {
    this.want(wt, VARINT);
    this.raw32();
    return 0n;
  }

  u64(wt: number): bigint {
    return this.strings ? this.exact64(wt) : this.skip64(wt);
  }

  private exact64(wt: number): bigint {
    this.want(wt, VARINT);
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const byte = b[this.pos++]!;
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if (byte < 0x80) return hi === 0 ? BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** sub reads a length prefix and returns where the announced bytes end. */
  sub(wt: number): number {
    this.want(wt, LEN);
    const n = this.raw32() >>> 0;
    const end = this.pos + n;
    if (end > this.end) throw new Error('length-delimited field runs past its message');
    return end;
  }

  str(wt: number, slot = NONE): string {
    const end = this.sub(wt);
    const start = this.pos;
    this.pos = end;
    if (slot !== NONE) {
      this.slots[slot * 2] = start;
      this.slots[slot * 2 + 1] = end;
    }
    if (end === start || !this.strings) return '';
    return hasUtf8Slice
      ? (this.buf as SliceableBuffer).utf8Slice(start, end)
      : this.buf.toString('utf8', start, end);
  }

  skip(wt: number): void {
    if (wt === VARINT) this.raw32();
    else if (wt === LEN) this.pos = this.sub(wt);
    else if (wt === 1) this.pos += 8;
    else if (wt === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wt}`);
    if (this.pos > this.end) throw new Error('field runs past its message');
  }
}

function user(r: Reader, end: number, into?: User, nameSlot = NONE): User {
  const u: User = into ?? {
    $typeName: 'palisade.v1.User',
    uid: '',
    name: '',
    gid: 0,
    euid: 0,
    egid: 0,
    auid: 0,
  };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        u.uid = r.str(wt);
        break;
      case 2:
        u.name = r.str(wt, nameSlot);
        break;
      case 3:
        u.gid = r.u32(wt);
        break;
      case 4:
        u.euid = r.u32(wt);
        break;
      case 5:
        u.egid = r.u32(wt);
        break;
      case 6:
        u.auid = r.u32(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return u;
}

/** proc decodes a Process; `slots` is S_CMD for the event's process, S_ACTOR_CMD for its actor. */
function proc(r: Reader, end: number, into?: Process, slots = NONE): Process {
  const p: Process = into ?? {
    $typeName: 'palisade.v1.Process',
    pid: 0,
    tid: 0,
    uid: '',
    name: '',
    path: '',
    cmdLine: '',
    argv: [],
    argvTruncated: false,
    cwd: '',
    createdTimeMs: 0n,
    ppid: 0,
    cgroupId: 0n,
    sessionId: 0,
    tty: '',
    user: undefined,
    parent: undefined,
  };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        p.pid = r.u32(wt);
        break;
      case 2:
        p.tid = r.u32(wt);
        break;
      case 3:
        p.uid = r.str(wt);
        break;
      case 4:
        p.name = r.str(wt);
        break;
      case 5:
        p.path = r.str(wt, slots === NONE ? NONE : slots + 1);
        break;
      case 6:
        p.cmdLine = r.str(wt, slots);
        break;
      case 7:
        p.argv.push(r.str(wt));
        break;
      case 8:
        p.argvTruncated = r.bool(wt);
        break;
      case 9:
        p.cwd = r.str(wt, slots === S_CMD ? S_CWD : NONE);
        break;
      case 10:
        p.createdTimeMs = r.i64(wt);
        break;
      case 11:
        p.user = user(r, r.sub(wt), p.user);
        break;
      case 12:
        p.parent = proc(r, r.sub(wt), p.parent);
        break;
      case 13:
        p.ppid = r.u32(wt);
        break;
      case 14:
        p.cgroupId = r.u64(wt);
        break;
      case 15:
        p.sessionId = r.u32(wt);
        break;
      case 16:
        p.tty = r.str(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return p;
}

function file(r: Reader, end: number, into: File | undefined, pathSlot: number): File {
  const f: File = into ?? { $typeName: 'palisade.v1.File', path: '', name: '', typeId: 0, size: 0n };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        f.path = r.str(wt, pathSlot);
        break;
      case 2:
        f.name = r.str(wt);
        break;
      case 3:
        f.typeId = r.u32(wt);
        break;
      case 4:
        f.size = r.u64(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return f;
}

/** endpoint decodes a NetworkEndpoint; `dst` marks the destination, whose ip and hostname are searched. */
function endpoint(r: Reader, end: number, into: NetworkEndpoint | undefined, dst: boolean): NetworkEndpoint {
  const n: NetworkEndpoint = into ?? {
    $typeName: 'palisade.v1.NetworkEndpoint',
    ip: '',
    port: 0,
    hostname: '',
  };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        n.ip = r.str(wt, dst ? S_DST_IP : NONE);
        break;
      case 2:
        n.port = r.u32(wt);
        break;
      case 3:
        n.hostname = r.str(wt, dst ? S_DST_HOST : NONE);
        break;
      default:
        r.skip(wt);
    }
  }
  return n;
}

function connection(r: Reader, end: number, into?: ConnectionInfo): ConnectionInfo {
  const c: ConnectionInfo = into ?? {
    $typeName: 'palisade.v1.ConnectionInfo',
    protocolNum: 0,
    protocolName: '',
    directionId: 0,
    protocolVerId: 0,
  };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        c.protocolNum = r.u32(wt);
        break;
      case 2:
        c.protocolName = r.str(wt);
        break;
      case 3:
        c.directionId = r.u32(wt);
        break;
      case 4:
        c.protocolVerId = r.u32(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return c;
}

function traffic(r: Reader, end: number, into?: Traffic): Traffic {
  const t: Traffic = into ?? { $typeName: 'palisade.v1.Traffic', bytesIn: 0n, bytesOut: 0n };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        t.bytesIn = r.u64(wt);
        break;
      case 2:
        t.bytesOut = r.u64(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return t;
}

function dns(r: Reader, end: number, into?: DnsQuery): DnsQuery {
  const q: DnsQuery = into ?? {
    $typeName: 'palisade.v1.DnsQuery',
    hostname: '',
    type: '',
    class: '',
    packetUid: 0,
  };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        q.hostname = r.str(wt, S_QUERY);
        break;
      case 2:
        q.type = r.str(wt);
        break;
      case 3:
        q.class = r.str(wt);
        break;
      case 4:
        q.packetUid = r.u32(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return q;
}

/**
 * event decodes one Event. `into`, when given, is a scratch event that indexEventBatch reuses
 * for every event of a batch (only its class, activity and time are read back, and they are reset
 * here), so that checking a batch allocates no objects per event.
 */
function event(r: Reader, end: number, into?: Event): Event {
  if (into) {
    into.classUid = 0;
    into.activityId = 0;
    into.timeMs = 0n;
    if (into.process) into.process.argv.length = 0;
    if (into.actorProcess) into.actorProcess.argv.length = 0;
  }
  const e: Event = into ?? {
    $typeName: 'palisade.v1.Event',
    classUid: 0,
    activityId: 0,
    timeMs: 0n,
    severityId: 0,
    statusId: 0,
    statusDetail: '',
    message: '',
    rawData: '',
    exitCode: 0,
    hasExitCode: false,
    exitSignal: 0,
    authProtocol: '',
    logonTypeId: 0,
    serviceName: '',
    isRemote: false,
    command: '',
    authProvenance: 0,
    // Message fields are declared up front (unset) so every event has the same shape: adding
    // them later would send V8 through a chain of hidden classes per event.
    process: undefined,
    actorProcess: undefined,
    actorUser: undefined,
    file: undefined,
    fileResult: undefined,
    srcEndpoint: undefined,
    dstEndpoint: undefined,
    connectionInfo: undefined,
    traffic: undefined,
    query: undefined,
    user: undefined,
  };
  while (r.pos < end) {
    const tag = r.raw32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        e.classUid = r.u32(wt);
        break;
      case 2:
        e.activityId = r.u32(wt);
        break;
      case 3:
        e.timeMs = r.time(wt);
        break;
      case 4:
        e.severityId = r.u32(wt);
        break;
      case 5:
        e.statusId = r.u32(wt);
        break;
      case 6:
        e.statusDetail = r.str(wt);
        break;
      case 7:
        e.message = r.str(wt);
        break;
      case 8:
        e.rawData = r.str(wt, S_RAW);
        break;
      case 10:
        e.process = proc(r, r.sub(wt), e.process, S_CMD);
        break;
      case 11:
        e.actorProcess = proc(r, r.sub(wt), e.actorProcess, S_ACTOR_CMD);
        break;
      case 12:
        e.actorUser = user(r, r.sub(wt), e.actorUser);
        break;
      case 13:
        e.exitCode = r.i32(wt);
        break;
      case 14:
        e.hasExitCode = r.bool(wt);
        break;
      case 15:
        e.exitSignal = r.u32(wt);
        break;
      case 20:
        e.file = file(r, r.sub(wt), e.file, S_FILE);
        break;
      case 21:
        e.fileResult = file(r, r.sub(wt), e.fileResult, S_FILE_RESULT);
        break;
      case 30:
        e.srcEndpoint = endpoint(r, r.sub(wt), e.srcEndpoint, false);
        break;
      case 31:
        e.dstEndpoint = endpoint(r, r.sub(wt), e.dstEndpoint, true);
        break;
      case 32:
        e.connectionInfo = connection(r, r.sub(wt), e.connectionInfo);
        break;
      case 33:
        e.traffic = traffic(r, r.sub(wt), e.traffic);
        break;
      case 34:
        e.query = dns(r, r.sub(wt), e.query);
        break;
      case 40:
        e.user = user(r, r.sub(wt), e.user, S_USER);
        break;
      case 41:
        e.authProtocol = r.str(wt);
        break;
      case 42:
        e.logonTypeId = r.u32(wt);
        break;
      case 43:
        e.serviceName = r.str(wt);
        break;
      case 44:
        e.isRemote = r.bool(wt);
        break;
      case 45:
        e.command = r.str(wt);
        break;
      case 46:
        e.authProvenance = r.u32(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return e;
}

/** decodeEventBatch decodes the bytes of an EventBatch message into its events; throws on malformed input. */
export function decodeEventBatch(body: Uint8Array): Event[] {
  const buf = asBuffer(body);
  const r = new Reader(buf, 0, buf.byteLength, true);
  const events: Event[] = [];
  while (r.pos < r.end) {
    const tag = r.raw32();
    const wt = tag & 7;
    if (tag >>> 3 === 1) events.push(event(r, r.sub(wt)));
    else r.skip(wt);
  }
  return events;
}

/**
 * indexEventBatch checks an EventBatch as decodeEventBatch does (it throws on exactly the same
 * input) without decoding any text, and derives the batch's index (BatchIndex of
 * @palisade/storage, equal to `indexOfEvents(decodeEventBatch(body))`) from the wire bytes: the
 * search text is the searched fields' bytes copied side by side and decoded once, so no event
 * is decoded with its text. This is what lets ingest skip decoding events at all.
 */
export function indexEventBatch(body: Uint8Array): BatchIndex {
  const buf = asBuffer(body);
  const r = new Reader(buf, 0, buf.byteLength, false);
  let scratch: Event | undefined;
  let count = 0;
  let nSpans = 0;
  const kindPairs: number[] = [];
  const kinds: string[] = [];
  let textBytes = 0;
  let minTimeMs: bigint | null = null;
  let maxTimeMs: bigint | null = null;
  while (r.pos < r.end) {
    const tag = r.raw32();
    const wt = tag & 7;
    if (tag >>> 3 !== 1) {
      r.skip(wt);
      continue;
    }
    r.slots.fill(0);
    const e = event(r, r.sub(wt), scratch);
    scratch = e;
    count++;
    if (minTimeMs === null || e.timeMs < minTimeMs) minTimeMs = e.timeMs;
    if (maxTimeMs === null || e.timeMs > maxTimeMs) maxTimeMs = e.timeMs;
    let seen = false;
    for (let k = 0; k < kindPairs.length && !seen; k += 2)
      seen = kindPairs[k] === e.classUid && kindPairs[k + 1] === e.activityId;
    if (!seen) {
      kindPairs.push(e.classUid, e.activityId);
      kinds.push(`${e.classUid}.${e.activityId}`);
    }
    if (count > 1) {
      nSpans = pushSpan(nSpans, -1, -1);
      textBytes++;
    }
    let parts = 0;
    for (let i = 0; i < SLOTS * 2; i += 2) {
      const start = r.slots[i]!;
      const end = r.slots[i + 1]!;
      if (end === start) continue;
      if (parts++ > 0) textBytes++;
      nSpans = pushSpan(nSpans, start, end);
      textBytes += end - start;
    }
  }
  // The scratch grows to 1 MiB at most: a larger (rare, limit-sized) batch gets its own buffer.
  if (textBuf.length < textBytes && textBytes <= TEXT_BUF_MAX)
    textBuf = Buffer.allocUnsafe(Math.min(Math.max(textBytes, textBuf.length * 2), TEXT_BUF_MAX));
  const out = textBytes <= textBuf.length ? textBuf : Buffer.allocUnsafe(textBytes);
  const spans = spanBuf;
  let off = 0;
  let first = true;
  for (let i = 0; i < nSpans; i += 2) {
    const start = spans[i]!;
    if (start === -1) {
      out[off++] = 0x0a;
      first = true;
      continue;
    }
    if (!first) out[off++] = 0x0a;
    first = false;
    const end = spans[i + 1]!;
    // Most pieces are short: a loop beats Buffer.copy's call overhead for them.
    if (end - start > 64) off += buf.copy(out, off, start, end);
    else for (let j = start; j < end; j++) out[off++] = buf[j]!;
  }
  const text = hasUtf8Slice ? (out as SliceableBuffer).utf8Slice(0, off) : out.toString('utf8', 0, off);
  return { count, minTimeMs, maxTimeMs, kinds, text };
}

/*
 * Scratch space of indexEventBatch, kept between calls (it runs synchronously, one at a time):
 * the start/end pairs of the search text's pieces (an event boundary is the pair -1, -1) and the
 * bytes of the text before it is decoded. Reusing them spares ~100 KB of garbage per batch.
 */
let spanBuf = new Int32Array(4096);
let textBuf = Buffer.allocUnsafe(64 * 1024);
const TEXT_BUF_MAX = 1024 * 1024;

function pushSpan(n: number, start: number, end: number): number {
  if (n + 2 > spanBuf.length) {
    const grown = new Int32Array(spanBuf.length * 2);
    grown.set(spanBuf);
    spanBuf = grown;
  }
  spanBuf[n] = start;
  spanBuf[n + 1] = end;
  return n + 2;
}

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
