import type { Logger } from '@palisade/common';

/** IsolationRevertedAlert describes an agent that removed its isolation again because its self-test failed. */
export interface IsolationRevertedAlert {
  agentId: string;
  hostname: string;
  revision: number;
  commandId: string | null;
  /** The agent's explanation: "isolation reverted: backend unreachable through the isolation rules: ...". */
  reason: string;
  at: number;
}

/** IsolationLiftedLocallyAlert describes someone lifting isolation at the host with the offline restore code. */
export interface IsolationLiftedLocallyAlert {
  agentId: string;
  hostname: string;
  revision: number;
  codeId: string;
  /** When it happened at the host (agent clock). */
  at: number;
}

/**
 * ResponseAlerts is the hook where the response side raises alerts. There is no alert store yet
 * (the detection work adds one, with OCSF Detection Findings): until then the default
 * implementation writes an error log line, while the agent's state and the audit log record the
 * event. The detection engineer replaces `logOnlyResponseAlerts` with one that stores findings.
 */
export interface ResponseAlerts {
  /** raiseIsolationRevertedAlert: the host is NOT isolated although isolation was asked for. */
  isolationReverted(a: IsolationRevertedAlert): void;
  /** raiseIsolationLiftedLocallyAlert: isolation was lifted at the console, without the server. */
  isolationLiftedLocally(a: IsolationLiftedLocallyAlert): void;
}

/** logOnlyResponseAlerts raises the alerts as error log lines (until an alert store exists). */
export function logOnlyResponseAlerts(logger: Logger): ResponseAlerts {
  return {
    isolationReverted: (a) =>
      logger.error(
        { alert: 'isolation_reverted', ...a },
        `ALERT: isolation of ${a.hostname} reverted: ${a.reason}`,
      ),
    isolationLiftedLocally: (a) =>
      logger.error(
        { alert: 'isolation_lifted_locally', ...a },
        `ALERT: isolation of ${a.hostname} was lifted at the host with the offline restore code`,
      ),
  };
}
