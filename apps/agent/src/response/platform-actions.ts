import type { AgentSelf } from '@palisade/protocol';
import { readBootId } from '../sensors/bpf/proc-reader.linux.js';
import { agentSelf } from './agent-self.linux.js';
import type { ResponseActions } from './command-runner.js';
import { killProcess } from './kill-process.linux.js';
import { type QuarantineContext, quarantineFile, restoreQuarantined } from './quarantine.js';

/** PlatformResponse is this platform's response actions and its report of what they must not touch. */
export interface PlatformResponse {
  actions: ResponseActions;
  self(): AgentSelf;
}

/**
 * platformResponse picks the response actions of this platform (Linux: /proc, signals, POSIX
 * files). Windows and macOS agents add theirs here, beside the isolation backend of
 * isolation/platform-backend.ts.
 */
export function platformResponse(files: QuarantineContext): PlatformResponse {
  if (process.platform !== 'linux') {
    const none = async () => ({
      ok: false,
      code: 'unsupported',
      message: `not implemented on ${process.platform}`,
      killedPids: [],
    });
    return {
      actions: { kill: none, quarantine: none, restoreFile: none },
      self: () => ({
        $typeName: 'palisade.v1.AgentSelf',
        pid: process.pid,
        helperPids: [],
        protectedPaths: [...files.protectedPaths()],
      }),
    };
  }
  const bootId = readBootId();
  const self = () => agentSelf(files.protectedPaths());
  return {
    self,
    actions: {
      kill: (req) => killProcess(req, { bootId, protectedPids: () => self().helperPids }),
      quarantine: (path) => quarantineFile(path, files),
      restoreFile: (id) => restoreQuarantined(id, files),
    },
  };
}
