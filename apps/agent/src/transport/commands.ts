import type { Command, Policy } from '@palisade/protocol';

/** CommandOutcome is what the agent reports back in a CommandResult. */
export interface CommandOutcome {
  ok: boolean;
  message: string;
}

/** CommandHandlers are the agent's actions that commands can trigger. */
export interface CommandHandlers {
  onPolicy(policy: Policy): void;
}

/**
 * runCommand carries out the configuration commands: set_policy applies the policy (the tier
 * changes without a restart); ping echoes. Anything else that reaches it (the old boolean
 * `isolate`, superseded by set_isolation, or an action this agent does not know) is refused with
 * ok=false, so the server never believes a host is contained when it is not. Response actions are
 * the CommandRunner's (response/command-runner.ts).
 */
export function runCommand(c: Command, h: CommandHandlers): CommandOutcome {
  switch (c.action.case) {
    case 'setPolicy':
      h.onPolicy(c.action.value);
      return { ok: true, message: `policy revision ${c.action.value.revision} applied` };
    case 'ping':
      return { ok: true, message: c.action.value };
    default:
      return { ok: false, message: `command ${c.action.case ?? 'empty'} is not supported by this agent` };
  }
}
