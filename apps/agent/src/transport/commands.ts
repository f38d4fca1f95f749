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
 * runCommand carries out one server command. set_policy applies the policy (the tier changes
 * without a restart); ping echoes; actions this agent does not implement yet (isolate) are
 * refused with ok=false so the server never believes a host is contained when it is not.
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
