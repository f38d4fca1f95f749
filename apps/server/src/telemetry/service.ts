import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import { LIMITS } from '@palisade/protocol';
import type { Storage } from '@palisade/storage';
import { WebSocketServer } from 'ws';
import { authenticatePeer } from '../http/peer-auth.js';
import { ConnectionGate, type GateStats } from '../limits/connection-gate.js';
import {
  DEFAULT_LIMITS,
  httpServerOptions,
  type ListenerLimits,
  telemetryCaps,
} from '../limits/listener-limits.js';
import type { TrustedAddresses } from '../limits/trusted-addresses.js';
import { peerLogger } from '../peer-log.js';
import type { ServerTls } from '../tls/server-tls.js';
import { AgentConnection, type ResponseHooks } from './agent-connection.js';
import { FlowController } from './flow-control.js';
import { GroupCommitWriter, type GroupCommitOptions } from './group-commit.js';
import { HeartbeatCoalescer } from './heartbeat-coalescer.js';
import { startLivenessSweep } from './liveness.js';
import type { SessionTable } from './session-table.js';
import type { ListenerMetrics } from '../metrics/registry.js';

/** TELEMETRY_PATH is the WebSocket path agents connect to. */
export const TELEMETRY_PATH = '/v1/telemetry';

/** TelemetryServiceOptions configure one telemetry listener. */
export interface TelemetryServiceOptions {
  host: string;
  port: number;
  /** The live TLS material; the listener takes a renewed or replaced certificate without restarting. */
  tls: ServerTls;
  storage: Storage;
  sessions: SessionTable;
  clock: Clock;
  logger: Logger;
  heartbeatIntervalS: number;
  channel?: 'primary' | 'standby';
  /** Tuning of the group-commit writer. */
  writer?: Partial<Omit<GroupCommitOptions, 'storage' | 'logger' | 'now'>>;
  /** How often coalesced heartbeats are written, ms. @default 5000 */
  heartbeatFlushMs?: number;
  /** How often connections are pinged; one missed pong ends them. @default heartbeat interval */
  livenessIntervalMs?: number;
  /** Batches a connection may have unacked (announced in Welcome, enforced). @default LIMITS.maxInFlightBatches */
  maxInFlight?: number;
  /** Timeouts and connection caps (see ListenerLimits). @default DEFAULT_LIMITS */
  limits?: ListenerLimits;
  /** Addresses agents recently authenticated from, shared by the process's listeners. @default its own */
  trusted?: TrustedAddresses;
  /** The response side: isolation state, command delivery and results (absent: no commands). */
  response?: ResponseHooks;
  /** Where this listener's ingest is measured (ServerMetrics.forListener). @default nothing */
  metrics?: ListenerMetrics;
}

/** TelemetryService is a running telemetry listener. */
export interface TelemetryService {
  port: number;
  writer: GroupCommitWriter;
  /** The flow controller (counts of slow-down and resume frames sent). */
  flow: FlowController;
  /** What the connection caps hold and did (see ConnectionGate). */
  connections(): GateStats;
  close(): Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, err: PalisadeError): void {
  const body = JSON.stringify(err.toJSON());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * startTelemetryService opens the secure WebSocket listener. The upgrade is refused with 401
 * unless the client certificate authenticates an agent (see authenticatePeer); WebSocket messages
 * above LIMITS.maxFrameBytes close the connection with 1009.
 */
export async function startTelemetryService(o: TelemetryServiceOptions): Promise<TelemetryService> {
  const logger = o.logger.child({ svc: 'telemetry' });
  const writer = new GroupCommitWriter({
    storage: o.storage,
    logger,
    now: () => o.clock.now(),
    ...o.writer,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  const maxInFlight = o.maxInFlight ?? LIMITS.maxInFlightBatches;
  const flow = new FlowController(
    () => writer.queuedBytes,
    () => Date.now(),
    {
      normalWindow: maxInFlight,
      ...(o.metrics ? { metrics: o.metrics } : {}),
      ...(o.writer?.maxQueuedBytes !== undefined ? { maxQueuedBytes: o.writer.maxQueuedBytes } : {}),
    },
  );
  const heartbeats = new HeartbeatCoalescer(o.storage, logger, o.heartbeatFlushMs);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: LIMITS.maxFrameBytes,
    perMessageDeflate: false,
  });
  const deps = {
    storage: o.storage,
    writer,
    heartbeats,
    sessions: o.sessions,
    clock: o.clock,
    logger,
    heartbeatIntervalS: o.heartbeatIntervalS,
    channel: o.channel ?? 'primary',
    flow,
    maxInFlight,
    ...(o.response ? { response: o.response } : {}),
    ...(o.metrics ? { metrics: o.metrics } : {}),
  };
  const limits = o.limits ?? DEFAULT_LIMITS;
  const server: Server = createServer({
    ...o.tls.contextOptions(),
    requestCert: true,
    rejectUnauthorized: false,
    // Handshake, upgrade-request and idle timeouts; an open WebSocket is then kept by pings.
    ...httpServerOptions(limits),
  });
  server.timeout = limits.idleTimeoutMs;
  // Agents with a certificate of our CA count as authenticated: the rest share a bounded pool.
  const gate = new ConnectionGate(server, telemetryCaps(limits), logger, o.trusted);
  o.tls.attach(server);
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { code: 'bad_request', message: `connect with a WebSocket to ${TELEMETRY_PATH}` },
      }),
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    if ((req.url ?? '').split('?')[0] !== TELEMETRY_PATH) {
      refuseUpgrade(socket, 404, 'Not Found', new PalisadeError('not_found', `no WebSocket at ${req.url}`));
      return;
    }
    authenticatePeer(req.socket as TLSSocket, o.storage, o.clock, logger).then(
      (peer) => {
        wss.handleUpgrade(req, socket, head, (ws) => {
          wss.emit('connection', ws, req);
          // The first frame must come soon (it is Hello, or the connection is closed as bad).
          const hello = setTimeout(() => {
            peerLogger(logger, peer.agent.id).warn(
              { remote, agentId: peer.agent.id },
              'no Hello in time; closing',
            );
            ws.close(1008, 'no Hello in time');
          }, limits.helloTimeoutMs);
          ws.once('message', () => clearTimeout(hello));
          ws.once('close', () => clearTimeout(hello));
          new AgentConnection(ws, peer, remote, deps);
        });
      },
      (err: unknown) => {
        const e =
          err instanceof PalisadeError
            ? err
            : new PalisadeError('invalid_credentials', 'authentication failed');
        peerLogger(logger, req.socket.remoteAddress ?? '').warn(
          { remote, code: e.code, msg: e.message },
          'telemetry connection refused',
        );
        refuseUpgrade(socket, 401, 'Unauthorized', e);
      },
    );
  });
  const stopSweep = startLivenessSweep(wss, o.livenessIntervalMs ?? o.heartbeatIntervalS * 1000, logger);
  server.on('tlsClientError', (err, socket) =>
    peerLogger(logger, socket.remoteAddress ?? '').debug({ msg: err.message }, 'TLS handshake failed'),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    writer,
    flow,
    connections: () => gate.stats(),
    async close() {
      stopSweep();
      flow.close();
      server.close();
      // Store (and ack) what was received before saying goodbye.
      await writer.close();
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await heartbeats.close();
      // Give close frames a moment, then cut whatever is left.
      await new Promise((r) => setTimeout(r, 50));
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      wss.close();
    },
  };
}
