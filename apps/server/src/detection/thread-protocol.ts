import type { Hit } from './evidence.js';

/** RulesConfig is what the detection thread loads: rule files/directories and disabled rule ids. */
export interface RulesConfig {
  paths: string[];
  disabled: string[];
}

/** RuleLoadStatus is one rule's (or file's) load state, as the thread reports it. */
export interface RuleLoadStatus {
  id: string;
  title: string;
  file: string;
  state: string;
  reason?: string;
}

/** ThreadRequest is a message to the detection thread. */
export type ThreadRequest =
  | {
      type: 'eval';
      batches: { batchId: number; agentId: string; hostname: string; body: Uint8Array | null }[];
    }
  | { type: 'rules'; config: RulesConfig };

/** ThreadReply is a message from it. */
export type ThreadReply =
  | { type: 'hits'; hits: Hit[]; skipped: { batchId: number; reason: string }[]; suspended: string[] }
  | { type: 'rules'; statuses: RuleLoadStatus[] };
