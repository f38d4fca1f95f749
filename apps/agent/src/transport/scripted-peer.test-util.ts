import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { type Server, createServer } from 'node:https';
import * as x509 from '@peculiar/x509';
import {
  type ClientFrame,
  ClientFrameSchema,
  type ServerFrame,
  ServerFrameSchema,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** selfSignedCert makes a throwaway P-256 certificate for 127.0.0.1 (its own CA). */
export async function selfSignedCert(): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=127.0.0.1',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), keyPem };
}

/**
 * ScriptedPeer is a real TLS WebSocket listener that speaks the telemetry protocol as a test
 * scripts it, to drive the agent through server behaviour the real server does not show on
 * demand (flow control, commands, bogus acks). It records every frame it receives.
 */
export class ScriptedPeer {
  readonly frames: ClientFrame[] = [];
  private socket: WebSocket | undefined;
  private listeners: ((f: ClientFrame) => void)[] = [];

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
    readonly caPem: string,
  ) {}

  static async start(): Promise<ScriptedPeer> {
    const { certPem, keyPem } = await selfSignedCert();
    const server = createServer({ cert: certPem, key: keyPem });
    const wss = new WebSocketServer({ server, path: '/v1/telemetry' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const peer = new ScriptedPeer(server, wss, `wss://127.0.0.1:${port}/v1/telemetry`, certPem);
    wss.on('connection', (ws) => {
      peer.socket = ws;
      ws.on('message', (data: Buffer) => {
        const f = fromBinary(ClientFrameSchema, data);
        peer.frames.push(f);
        for (const l of peer.listeners) l(f);
      });
    });
    return peer;
  }

  /** onFrame calls `cb` for every frame received from now on. */
  onFrame(cb: (f: ClientFrame) => void): void {
    this.listeners.push(cb);
  }

  /** send sends one ServerFrame to the connected agent. */
  send(kind: ServerFrame['kind']): void {
    this.socket?.send(toBinary(ServerFrameSchema, create(ServerFrameSchema, { kind })));
  }

  /** sendRaw sends bytes that need not be a ServerFrame at all. */
  sendRaw(bytes: Uint8Array): void {
    this.socket?.send(bytes);
  }

  /** batchSeqs lists the sequence numbers of every batch received, in order. */
  batchSeqs(): number[] {
    return this.frames.flatMap((f) => (f.kind.case === 'batch' ? [Number(f.kind.value.seq)] : []));
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
