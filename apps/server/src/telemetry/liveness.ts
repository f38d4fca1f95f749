import type { Logger } from '@palisade/common';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * startLivenessSweep pings every telemetry connection each `intervalMs` and terminates those that
 * sent nothing (no pong, no frame) since the previous ping, so a vanished host (power cut, cable pulled: no FIN ever
 * arrives) leaves the session table within two intervals. Returns a function that stops it.
 */
export function startLivenessSweep(wss: WebSocketServer, intervalMs: number, logger: Logger): () => void {
  const answered = new WeakSet<WebSocket>();
  const track = (ws: WebSocket) => {
    answered.add(ws);
    // Any frame proves the peer is there, not only a pong.
    const alive = () => answered.add(ws);
    ws.on('pong', alive);
    ws.on('message', alive);
  };
  wss.on('connection', track);
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      // A connection we stopped reading (back-pressure) cannot show us its pongs: not its fault.
      if (ws.isPaused) continue;
      if (!answered.has(ws)) {
        logger.info({}, 'terminating a telemetry connection that stopped answering pings');
        ws.terminate();
        continue;
      }
      answered.delete(ws);
      ws.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    wss.off('connection', track);
  };
}
