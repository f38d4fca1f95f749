// Test-only: a Logger that keeps warnings, shared by the sensors' tests.
import type { Logger } from '@palisade/common';

/** Warning is one warn() call: its fields and message. */
export interface Warning {
  obj: Record<string, unknown>;
  msg: string;
}

/** warningLogger is a Logger that keeps its warnings (children included) and drops the rest. */
export function warningLogger(): { logger: Logger; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn(obj: object, msg?: string) {
      warnings.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' });
    },
    error() {},
    child() {
      return logger;
    },
  };
  return { logger, warnings };
}
