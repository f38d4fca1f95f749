/** @palisade/testkit holds development-only helpers: simulated agents and event fixtures. */
export { SimulatedAgent, BatchRefused, type ConnectOptions } from './simulated-agent.js';
export {
  registerAgent,
  renewAgent,
  renewProofText,
  checkIn,
  proofText,
  simulatedHost,
  RegistrationRefused,
  type AgentIdentity,
  type RegisterOptions,
  type RenewOptions,
} from './identity.js';
export { makeProcessEvent, type ProcessEventOptions } from './events.js';
export { prepareBatch, prepareFrame, batchClientFrame, type PreparedBatch } from './batch-frame.js';
export { httpsRequest, type HttpsOptions, type HttpsResult } from './https-request.js';
export { OcsfValidator, OCSF_DIR } from './ocsf-validator.js';
// Test helpers every package shares: polling, sleeping, temporary directories, free ports.
export { sleep, waitFor } from './wait.js';
export { removeTempDir, tempDir } from './temp-dir.js';
export { freePort } from './net.js';
// Linux end-to-end harness: a private rsyslogd or journald, sshd on loopback, throw-away users, a pty driver.
export { run, stopChild } from './linux/run.js';
export { authorizeKey, type Sshd, type SshLogin, sshLogin, startSshd } from './linux/sshd.linux.js';
export {
  type JournalNamespace,
  type LogNamespace,
  type SyslogNamespace,
  startJournalNamespace,
  startSyslogNamespace,
} from './linux/syslog-namespace.linux.js';
export {
  allowSudo,
  createTestUser,
  inPty,
  type PtyStep,
  ptyScript,
  removeTestUser,
  type TestUser,
} from './linux/users.linux.js';
export { sharedDataCandidates, sharedDataDir } from './shared-data.js';
// Network namespaces: hosts on a bridged LAN (IPv4 and IPv6), processes inside them, probes.
export {
  ISOLATION_TEST_ENV,
  type LabHost,
  type LanOptions,
  NETNS_PREFIX,
  NetLab,
  sweepStaleNamespaces,
} from './linux/netns.linux.js';
export { LabNode, type LabNodeOptions, type ProbeResult } from './linux/lab-node-client.linux.js';
export { type FuzzOutcome, type FuzzReport, type FuzzTarget, fc, fuzz, mutated } from './fuzz.js';
