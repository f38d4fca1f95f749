/**
 * Framer cuts a byte stream into items (log lines, fixed-size records). It keeps the incomplete
 * tail between chunks so the follower can save an offset that never splits an item.
 */
export interface Framer<T> {
  push(chunk: Buffer): T[];
  /** Bytes held back because their item is not complete yet. */
  readonly pendingBytes: number;
  /** Hands out what is held back as a last item (the file ended without a newline), then resets. */
  flush(): T[];
  /** Drops what is held back (the file was truncated). */
  reset(): void;
}

/** LineItem is one log line; `truncated` when it was longer than the limit and cut. */
export interface LineItem {
  text: string;
  truncated: boolean;
}

const NL = 0x0a;

/**
 * LineFramer splits on '\n'. A line longer than `maxLineBytes` is handed out cut to that length
 * (marked truncated) and the rest of it, up to its newline, is skipped: memory stays bounded even
 * if a writer never ends a line.
 */
export class LineFramer implements Framer<LineItem> {
  private parts: Buffer[] = [];
  private held = 0;
  private skipping = false;

  constructor(private readonly maxLineBytes: number = 16 * 1024) {}

  get pendingBytes(): number {
    return this.held;
  }

  push(chunk: Buffer): LineItem[] {
    const out: LineItem[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl < 0 ? chunk.length : nl;
      if (this.skipping) {
        if (nl >= 0) this.skipping = false;
      } else {
        const room = this.maxLineBytes - this.held;
        if (end - start > room) {
          this.parts.push(chunk.subarray(start, start + room));
          out.push({ text: this.take(), truncated: true });
          this.skipping = nl < 0;
        } else {
          // Copy: the caller may reuse its read buffer.
          if (end > start) this.parts.push(Buffer.from(chunk.subarray(start, end)));
          this.held += end - start;
          if (nl >= 0) out.push({ text: this.take(), truncated: false });
        }
      }
      if (nl < 0) break;
      start = nl + 1;
    }
    return out;
  }

  flush(): LineItem[] {
    const had = this.held > 0;
    const text = this.take();
    this.skipping = false;
    return had ? [{ text, truncated: false }] : [];
  }

  reset(): void {
    this.parts = [];
    this.held = 0;
    this.skipping = false;
  }

  private take(): string {
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.held = 0;
    return text;
  }
}

/** RecordFramer cuts a stream into records of exactly `size` bytes (utmp: 384). */
export class RecordFramer implements Framer<Buffer> {
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly size: number) {}

  get pendingBytes(): number {
    return this.tail.length;
  }

  push(chunk: Buffer): Buffer[] {
    const all = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const out: Buffer[] = [];
    let at = 0;
    for (; at + this.size <= all.length; at += this.size)
      out.push(Buffer.from(all.subarray(at, at + this.size)));
    this.tail = Buffer.from(all.subarray(at));
    return out;
  }

  /** A partial record is not a record: it is dropped, not handed out. */
  flush(): Buffer[] {
    this.tail = Buffer.alloc(0);
    return [];
  }

  reset(): void {
    this.tail = Buffer.alloc(0);
  }
}
