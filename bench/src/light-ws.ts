// A minimal WebSocket client over raw TLS for holding tens of thousands of agent connections in
// one load-generator process: no extensions, no per-connection buffers beyond the TLS socket's,
// binary frames out (masked, as RFC 6455 requires of clients) and only what the bench needs in:
// the first binary frame (Welcome), pings (answered with pongs) and close.
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { type SecureContext, connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';

/** LightWsOptions say where and as whom to connect. */
export interface LightWsOptions {
  host: string;
  port: number;
  path: string;
  /** Source address (127.0.0.x) so that many connections fit in the port range. */
  localAddress: string;
  secureContext: SecureContext;
  timeoutMs: number;
}

function frame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  // A zero mask key is a valid mask (the payload XOR 0 is itself) and costs no copy loop.
  out.writeUInt32BE(0, head);
  out.set(payload, head + 4);
  return out;
}

/**
 * LightWs is one telemetry connection: `open` resolves with the first binary message the server
 * sends after the upgrade (the Welcome), or rejects on refusal or timeout.
 */
export class LightWs {
  private socket: TLSSocket | null = null;
  private buf: Buffer | null = null;
  closed = false;
  pings = 0;

  open(o: LightWsOptions, firstMessage: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let upgraded = false;
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error('timed out')), o.timeoutMs);
      const tcp = netConnect({ host: o.host, port: o.port, localAddress: o.localAddress });
      tcp.on('error', (err) => fail(err));
      const s = connect({ socket: tcp, secureContext: o.secureContext, servername: 'localhost' });
      this.socket = s;
      s.setNoDelay(true);
      s.on('error', (err) => fail(err));
      s.on('close', () => {
        this.closed = true;
        fail(new Error('closed'));
      });
      s.on('secureConnect', () => {
        const key = randomBytes(16).toString('base64');
        s.write(
          `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      s.on('data', (chunk: Buffer) => {
        this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
        if (!upgraded) {
          const end = this.buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const status = this.buf.subarray(0, this.buf.indexOf('\r\n')).toString('latin1');
          if (!/^HTTP\/1\.1 101/.test(status)) return fail(new Error(`upgrade refused: ${status}`));
          upgraded = true;
          this.buf = this.buf.length > end + 4 ? this.buf.subarray(end + 4) : null;
          s.write(frame(2, firstMessage));
        }
        this.parse((msg) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(msg);
        });
      });
    });
  }

  private parse(onBinary: (msg: Buffer) => void): void {
    for (;;) {
      const b = this.buf;
      if (!b || b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const payload = b.subarray(off, off + len);
      this.buf = b.length > off + len ? b.subarray(off + len) : null;
      if (opcode === 9) {
        this.pings++;
        this.socket?.write(frame(10, payload));
      } else if (opcode === 8) {
        this.close();
      } else if (opcode === 2) onBinary(Buffer.from(payload));
    }
  }

  /** send sends one binary message. */
  send(payload: Uint8Array): void {
    if (!this.closed) this.socket?.write(frame(2, payload));
  }

  /** close drops the connection. */
  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}
