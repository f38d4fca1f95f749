/**
 * @palisade/agent is the Palisade endpoint agent: identity and registration, the durable spool,
 * the telemetry transport, policy, and the sensors it runs.
 */
export { startAgent, type AgentOptions, type RunningAgent } from './agent.js';
export { runAgentCommand, DEFAULT_STATE_DIR, AgentCommandError } from './main.js';
export { RegistrationError } from './identity/register.js';
export { IdentityError } from './identity/identity-store.js';
export { ConfigError } from './config/agent-config.js';
export { Spool, type SpoolOptions, type SpoolStats, type DropReport } from './spool/index.js';
export type { Sensor, SensorCounters, EventSink } from './sensors/sensor.js';
export { DEFAULT_TRUSTED_PROGRAMS, JOURNAL_FIELDS } from './sensors/auth/index.js';
export type { Channel } from './transport/telemetry-client.js';
export type { TierName } from './policy/policy-state.js';
export { collectFile, type CollectOptions, type Collected } from './files/collect-file.js';
