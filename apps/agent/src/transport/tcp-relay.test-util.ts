import { type Server, type Socket, connect, createServer } from 'node:net';

/** RelayMode: forward bytes, refuse connections (listener closed), or accept and stall. */
export type RelayMode = 'forward' | 'closed' | 'stall';

/**
 * TcpRelay is a loopback TCP relay in front of a real listener, used to make the "primary" go
 * away, stall or come back on the same port while the real server keeps running.
 */
export class TcpRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  mode: RelayMode = 'forward';
  port = 0;

  constructor(private readonly targetPort: number) {}

  /** open starts listening (on the same port as before, if it was open once). */
  async open(mode: RelayMode = 'forward'): Promise<void> {
    this.mode = mode;
    const server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.mode === 'stall') return; // accept, never answer
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
    this.server = server;
  }

  /**
   * stall keeps open connections up but stops relaying anything the server sends (no acks reach
   * the agent), and makes new connections stall too.
   */
  stall(): void {
    this.mode = 'stall';
    for (const { client, upstream } of this.pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** cut drops every open connection. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** close stops listening (new connections are refused) and drops open ones. */
  async close(): Promise<void> {
    this.cut();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
