/**
 * @palisade/server is the Palisade backend: registration service and admin API (HTTPS), telemetry
 * service (WSS), on a pluggable Storage (SQLite by default).
 */
export { startServer } from './start-server.js';
export type { RunningServer, ServerOptions } from './options.js';
export { runServerCommand } from './main.js';
export { SessionTable, type LiveSession, type ConnectionState } from './telemetry/session-table.js';
export { API_ROUTES, API_PREFIX } from './api/index.js';
export { TELEMETRY_PATH } from './telemetry/service.js';
export type { PlaybookAlert } from './playbooks/playbook-alert.js';
export { SIGNATURE_HEADER, DELIVERY_HEADER, verifySignature } from './playbooks/webhook-signature.js';
export { AlertBus, type AlertListener } from './detection/alert-bus.js';
