import { parseArgs } from 'node:util';
import { CliError, resolveTarget } from './client.js';
import { agentsGet, agentsList } from './commands/agents.js';
import { eventsSearch } from './commands/events.js';
import { keysCreate, keysList, keysRevoke } from './commands/keys.js';

const USAGE = `usage: palisade <command> [flags]

  server [--data-dir DIR] [--host H] [--registration-port N] [--telemetry-port N] [--config FILE]
                                  run the backend (registration, telemetry, admin API)
  agent --server URL --ca FILE [--registration-key KEY] [--state-dir DIR] [--config FILE]
                                  run the endpoint agent
  quickstart [--data-dir DIR] [--state-dir DIR]
                                  run a server and a local agent registered to it (npm start)
  agents list | agents get ID     the enrolled agents
  events search [--class process|file|network|dns|auth] [--activity N] [--agent ID]
                [--contains TEXT] [--from TIME] [--to TIME] [--limit N] [--cursor C]
  keys list | keys create [--group NAME] | keys revoke ID

API flags: --server URL --token TOKEN --ca FILE (default: the local server's client.json in
/var/lib/palisade/server, or PALISADE_SERVER/PALISADE_TOKEN/PALISADE_CA), --json for scripts.
`;

const API_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse<O extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...API_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'server': {
      const { runServerCommand } = await import('@palisade/server');
      return runServerCommand(rest);
    }
    case 'agent': {
      const { runAgentCommand } = await import('@palisade/agent');
      return runAgentCommand(rest);
    }
    case 'quickstart': {
      const { values } = parse(rest, { 'state-dir': { type: 'string' } });
      const { quickstart } = await import('./quickstart.js');
      return quickstart(values);
    }
    case 'agents': {
      const { values, positionals } = parse(rest, {});
      const target = resolveTarget(values);
      if (positionals[0] === 'list' || positionals[0] === undefined) return agentsList(target, values.json);
      if (positionals[0] === 'get' && positionals[1]) return agentsGet(target, positionals[1]);
      throw new CliError(`unknown: agents ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'events': {
      const { values, positionals } = parse(rest, {
        class: { type: 'string' },
        activity: { type: 'string' },
        agent: { type: 'string' },
        contains: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      });
      if (positionals[0] !== 'search')
        throw new CliError(`unknown: events ${positionals.join(' ')}\n\n${USAGE}`, 2);
      return eventsSearch(resolveTarget(values), values, values.json);
    }
    case 'keys': {
      const { values, positionals } = parse(rest, { group: { type: 'string' } });
      const target = resolveTarget(values);
      if (positionals[0] === 'list' || positionals[0] === undefined) return keysList(target, values.json);
      if (positionals[0] === 'create') return keysCreate(target, values.group, values.json);
      if (positionals[0] === 'revoke' && positionals[1])
        return keysRevoke(target, positionals[1], values.json);
      throw new CliError(`unknown: keys ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      throw new CliError(`unknown command '${cmd}'\n\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`palisade: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`palisade: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
});
