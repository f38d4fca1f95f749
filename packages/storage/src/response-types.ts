/** CommandType is a response action the server can ask an agent to carry out. */
export type CommandType =
  | 'isolate'
  | 'restore'
  | 'kill_process'
  | 'quarantine_file'
  | 'restore_file'
  | 'collect_file';

/**
 * CommandState is where a command is in its life: `pending` (stored, not yet received by the
 * agent), `delivered` (the agent has it), then one of `succeeded`, `failed` (with an error) or
 * `expired` (the agent did not report an outcome in time). The last three are final.
 */
export type CommandState = 'pending' | 'delivered' | 'succeeded' | 'failed' | 'expired';

/** OPEN_COMMAND_STATES are the states a command can still leave. */
export const OPEN_COMMAND_STATES: readonly CommandState[] = ['pending', 'delivered'];

/** CommandRecord is one response command, as stored. */
export interface CommandRecord {
  /** A UUID. */
  id: string;
  agentId: string;
  type: CommandType;
  /** The action's parameters as accepted (pid and start time, path, quarantine id, ...). */
  params: Record<string, unknown>;
  /** Why it was asked (free text from the person or playbook that asked). */
  reason: string;
  /** Who asked: the API token (null for a playbook or the system) and a name for people. */
  actorId: string | null;
  actorName: string;
  state: CommandState;
  createdAt: number;
  /**
   * An open command becomes `expired` at this time; null never (isolate and restore set the
   * desired state, which an agent enters whenever it comes back).
   */
  expiresAt: number | null;
  deliveredAt: number | null;
  finishedAt: number | null;
  /** Why it failed or expired; null otherwise. */
  error: string | null;
  /** What the agent reported (the process it killed, the file's hash, the isolation state, ...). */
  result: Record<string, unknown> | null;
  /** For isolate and restore: the desired-isolation revision it set. Assigned by storage. */
  isolationRevision: number | null;
}

/** CommandQuery filters the command list; commands come back newest first. */
export interface CommandQuery {
  agentId?: string;
  state?: CommandState;
  type?: CommandType;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** CommandPage is one page of commands. */
export interface CommandPage {
  commands: CommandRecord[];
  /** Present when more commands may follow. */
  nextCursor?: string;
}

/** CommandPatch is what a state transition may change. */
export type CommandPatch = Partial<
  Pick<CommandRecord, 'state' | 'deliveredAt' | 'finishedAt' | 'error' | 'result'>
>;

/** DesiredIsolation is the isolation state the server wants an agent in. */
export interface DesiredIsolation {
  isolated: boolean;
  /** Increases with every change for this agent (assigned by storage); 0 = never set. */
  revision: number;
  reason: string;
  /** The isolate/restore command that set it (null when set without one, e.g. a local restore). */
  commandId: string | null;
  changedAt: number;
  actorName: string;
}

/** IsolationStateName is the actual isolation state an agent reports. */
export type IsolationStateName =
  | 'not_isolated'
  | 'applying'
  | 'isolated'
  | 'failed'
  | 'reverted'
  | 'unsupported';

/** ActualIsolation is the agent's last report of its actual isolation state. */
export interface ActualIsolation {
  state: IsolationStateName;
  /** The desired revision the state answers. */
  revision: number;
  /** Why it failed or was reverted. */
  reason: string;
  /** When the host entered this state (agent clock), ms; null when not reported. */
  since: number | null;
  /** When the server received the report, ms. */
  reportedAt: number;
  /** "ip port" of the backend endpoints the rules let through. */
  allowedAddresses: string[];
  /** The last time someone lifted isolation at the host with the offline restore code. */
  localRestore: { revision: number; at: number; codeId: string } | null;
  /** The restore code the agent holds ("" for none) and wrong codes entered since the last right one. */
  restoreCodeId: string;
  restoreCodeFailures: number;
}

/** IsolationRecord is an agent's desired and actual isolation state. */
export interface IsolationRecord {
  agentId: string;
  desired: DesiredIsolation;
  actual: ActualIsolation | null;
}

/**
 * RestoreCodeRecord is an agent's offline restore code. The server keeps only the verifier the
 * agent checks codes with, and the code itself sealed (encrypted with a key that is not in the
 * database) until an admin has been shown it once; then `sealed` is null for good.
 */
export interface RestoreCodeRecord {
  agentId: string;
  codeId: string;
  /** scrypt parameters and hash; salt and hash base64. */
  verifier: { salt: string; log2N: number; r: number; p: number; hash: string };
  /** The code, encrypted (opaque to storage); null once revealed. */
  sealed: string | null;
  createdAt: number;
  revealedAt: number | null;
  revealedBy: string | null;
  /** When the agent reported that the code was used at the host. */
  usedAt: number | null;
}
