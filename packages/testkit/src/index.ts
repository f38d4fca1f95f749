/** @palisade/testkit holds development-only helpers: simulated agents and event fixtures. */
export { SimulatedAgent, BatchRefused, type ConnectOptions } from './simulated-agent.js';
export {
  registerAgent,
  checkIn,
  proofText,
  simulatedHost,
  RegistrationRefused,
  type AgentIdentity,
  type RegisterOptions,
} from './identity.js';
export { makeProcessEvent, type ProcessEventOptions } from './events.js';
export { prepareBatch, prepareFrame, batchClientFrame, type PreparedBatch } from './batch-frame.js';
export { httpsRequest, type HttpsOptions, type HttpsResult } from './https-request.js';
export { OcsfValidator, OCSF_DIR } from './ocsf-validator.js';
