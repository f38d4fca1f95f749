import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { CliError, resolveTarget } from './client.js';
import { agentsGet, agentsList } from './commands/agents.js';
import { alertsList, alertsShow, alertsUpdate, detectionStatus, rulesList } from './commands/alerts.js';
import { caCommand } from './commands/ca.js';
import { eventsSearch } from './commands/events.js';
import {
  agentsDecommission,
  agentsMove,
  agentsRevoke,
  auditSearch,
  keysClaim,
  tokensCreate,
  tokensList,
  tokensRevoke,
} from './commands/fleet-admin.js';
import { groupsCreate, groupsDelete, groupsList, groupsRename, groupsSetPolicy } from './commands/groups.js';
import { keysCreate, keysList, keysRevoke } from './commands/keys.js';
import {
  createBody,
  playbooksCreate,
  playbooksDelete,
  playbooksList,
  playbooksRuns,
  playbooksSet,
  playbooksShow,
} from './commands/playbooks.js';
import { rulesTest } from './commands/rules-test.js';
import { usersAct, usersCreate, usersList } from './commands/users.js';
import { act, commandsList, commandsShow, killBody, restoreCode } from './commands/response.js';

const USAGE = `usage: palisade <command> [flags]

  server [--data-dir DIR] [--host H] [--registration-port N] [--telemetry-port N] [--config FILE]
                                  run the backend (registration, telemetry, admin API)
  agent --server URL --ca FILE [--registration-key-file PATH|-] [--state-dir DIR] [--config FILE]
                                  run the endpoint agent
  quickstart [--data-dir DIR] [--state-dir DIR]
                                  run a server and a local agent registered to it (npm start)
  agents list [--group G] [--status active|revoked|decommissioned] [--out-of-date]
  agents get|show ID | agents move ID --group G | agents decommission ID | agents revoke ID [--reason TEXT]
  agents isolate ID --reason TEXT | agents restore ID [--reason TEXT]
  agents kill-process ID --pid N (--start-time T | --process-uid U) [--tree] [--reason TEXT]
  agents quarantine-file ID --path P [--reason TEXT] | agents restore-file ID --quarantine-id Q
  agents collect-file ID --path P [--max-bytes N] [--reason TEXT]
         response actions take --wait [--timeout S] to follow the command until it ends
  agents restore-code ID [--rotate]   the agent's offline restore code (admin; shown once)
  commands list [--agent ID] [--state pending|delivered|succeeded|failed|expired] [--type T]
                [--limit N] [--cursor C] | commands show ID
  playbooks list | playbooks show NAME|ID | playbooks delete NAME|ID
  playbooks create NAME (--rule ID | --tag T)... [--min-severity S] [--group G]... [--host H]...
                   [--isolate] [--kill-process [--tree]] [--quarantine-file] [--webhook URL]...
                   [--dry-run] [--disabled] [--max-isolations-per-hour N] [--max-runs-per-hour N]
                   [--description TEXT]   | playbooks create [NAME] --file PLAYBOOK.json
  playbooks enable NAME|ID [--dry-run | --live] | playbooks disable NAME|ID
  playbooks runs NAME|ID | playbooks runs --alert ID
  alerts list [--agent ID] [--rule RULE_ID] [--severity S] [--min-severity S] [--status S]
              [--from T] [--to T] [--limit N] [--cursor C] [--json]
  alerts show ID | alerts resolve ID [--comment TEXT]
  alerts update ID [--status new|in_progress|resolved|suppressed] [--assignee NAME] [--comment TEXT]
  detection status   how far detection is behind the stored events
  rules list | rules reload   the server's rules with their load state (reload: read the rule directories again)
  groups list | groups create NAME [policy flags] | groups rename NAME NEW
  groups delete NAME [--move-agents-to G] | groups set-policy NAME [policy flags]
         policy flags: --tier server|workstation --channel beta|preview|stable
                       --window always | --days mon,fri --start 22:00 --end 04:00 --tz Europe/Berlin
  users list | users create NAME --role admin|analyst|viewer   (prints a one-time password)
  users reset-password|unlock|disable|enable NAME | users set-role NAME --role R
                                  console accounts (the web console is at the server's https://HOST:7443/)
  tokens list | tokens revoke ID
  tokens create NAME --role admin|analyst|viewer|metrics [--expires-in 90d | --expires-at TIME]
  audit search [--actor A] [--action group|agent.move|...] [--target ID] [--outcome ok|denied]
               [--from TIME] [--to TIME] [--limit N] [--cursor C]
  events search [--class process|file|network|dns|auth] [--activity N] [--agent ID]
                [--contains TEXT] [--from TIME] [--to TIME] [--limit N] [--cursor C]
                [--all] [--json | --jsonl]
  keys list [--group NAME] | keys create [--group NAME] [--max-uses N] | keys revoke ID | keys claim ID
  rules test RULE_OR_DIR... --events FILE.jsonl [--json] [--placeholders JSON]
                                  evaluate Sigma rules offline: per event, the ids of matching rules
  ca status | ca rotate | ca activate [--force] | ca retire [--force]
                                  rotate the certificate authority with an overlap (docs/fleet.md)

API flags: --server URL --token-file FILE|- --ca FILE (default: the local server's client.json in
/var/lib/palisade/server, or PALISADE_SERVER, PALISADE_TOKEN or PALISADE_TOKEN_FILE, PALISADE_CA),
--json for scripts. --token TOKEN works but warns: other users can read command lines.
`;

const API_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse<O extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(
  args: string[],
  options: O,
) {
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
      // The agent's heap settings (npm run bench:agent, docs/benchmarks.md, ADR 0008). Both flags
      // are read at each garbage collection, so they can still be set here, before the agent
      // allocates anything (--max-semi-space-size is only read at heap setup: it cannot).
      // - The young generation would grow to 16 MiB semi-spaces under an event storm and keep
      //   them; pinned at its initial size instead.
      // - The old generation's next limit is its live size × a factor V8 picks (up to 4) from
      //   its GC speed; the agent's live heap is ~11 MB, so that let 25 MB of garbage pile up
      //   between full collections. × 1.2 keeps the slack at ~2 MB for no measurable CPU.
      setFlagsFromString('--semi-space-growth-factor=1');
      setFlagsFromString('--heap-growing-percent=20');
      const { runAgentCommand } = await import('@palisade/agent');
      return runAgentCommand(rest);
    }
    case 'quickstart': {
      const { values } = parse(rest, { 'state-dir': { type: 'string' } });
      const { quickstart } = await import('./quickstart.js');
      return quickstart(values);
    }
    case 'agents': {
      const { values, positionals } = parse(rest, {
        group: { type: 'string' },
        status: { type: 'string' },
        'out-of-date': { type: 'boolean', default: false },
        reason: { type: 'string' },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        pid: { type: 'string' },
        'start-time': { type: 'string' },
        'process-uid': { type: 'string' },
        tree: { type: 'boolean', default: false },
        path: { type: 'string' },
        'max-bytes': { type: 'string' },
        'quarantine-id': { type: 'string' },
        rotate: { type: 'boolean', default: false },
      });
      const target = resolveTarget(values);
      const [sub, id] = positionals;
      if (sub === 'list' || sub === undefined) {
        const q = new URLSearchParams();
        if (values.group) q.set('group', values.group);
        if (values.status) q.set('status', values.status);
        if (values['out-of-date']) q.set('out_of_date', 'true');
        return agentsList(target, values.json, q.size ? `?${q}` : '');
      }
      if ((sub === 'get' || sub === 'show') && id) return agentsGet(target, id);
      const flags = { json: values.json, reason: values.reason, wait: values.wait, timeout: values.timeout };
      if (sub === 'isolate' && id) {
        if (!values.reason)
          throw new CliError('agents isolate ID needs --reason TEXT (it goes to the audit log)', 2);
        return act(target, id, 'isolate', {}, flags);
      }
      if (sub === 'restore' && id) return act(target, id, 'restore', {}, flags);
      if (sub === 'kill-process' && id) return act(target, id, 'kill-process', killBody(values), flags);
      if (sub === 'quarantine-file' && id) {
        if (!values.path) throw new CliError('agents quarantine-file ID needs --path P', 2);
        return act(target, id, 'quarantine-file', { path: values.path }, flags);
      }
      if (sub === 'collect-file' && id) {
        if (!values.path) throw new CliError('agents collect-file ID needs --path P', 2);
        const max = values['max-bytes'];
        if (max !== undefined && !/^[1-9][0-9]{0,15}$/.test(max))
          throw new CliError(
            `--max-bytes must be a whole number of bytes from 1, got ${JSON.stringify(max)}`,
            2,
          );
        return act(
          target,
          id,
          'collect-file',
          { path: values.path, ...(max !== undefined ? { max_bytes: Number(max) } : {}) },
          flags,
        );
      }
      if (sub === 'restore-file' && id) {
        if (!values['quarantine-id']) throw new CliError('agents restore-file ID needs --quarantine-id Q', 2);
        return act(target, id, 'restore-file', { quarantine_id: values['quarantine-id'] }, flags);
      }
      if (sub === 'restore-code' && id) return restoreCode(target, id, values.rotate, values.json);
      if (sub === 'move' && id) {
        if (!values.group) throw new CliError('agents move ID needs --group NAME', 2);
        return agentsMove(target, id, values.group, values.json);
      }
      if (sub === 'decommission' && id) return agentsDecommission(target, id, values.json);
      if (sub === 'revoke' && id) return agentsRevoke(target, id, values.reason, values.json);
      throw new CliError(`unknown: agents ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'commands': {
      const { values, positionals } = parse(rest, {
        agent: { type: 'string' },
        state: { type: 'string' },
        type: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      });
      const target = resolveTarget(values);
      const [sub, id] = positionals;
      if (sub === 'list' || sub === undefined) {
        return commandsList(
          target,
          {
            agent_id: values.agent,
            state: values.state,
            type: values.type,
            limit: values.limit,
            cursor: values.cursor,
          },
          values.json,
        );
      }
      if (sub === 'show' && id) return commandsShow(target, id);
      throw new CliError(`unknown: commands ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'playbooks': {
      const { values, positionals } = parse(rest, {
        file: { type: 'string' },
        description: { type: 'string' },
        rule: { type: 'string', multiple: true },
        tag: { type: 'string', multiple: true },
        'min-severity': { type: 'string' },
        group: { type: 'string', multiple: true },
        host: { type: 'string', multiple: true },
        isolate: { type: 'boolean' },
        'kill-process': { type: 'boolean' },
        tree: { type: 'boolean' },
        'quarantine-file': { type: 'boolean' },
        webhook: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        live: { type: 'boolean' },
        disabled: { type: 'boolean' },
        'max-isolations-per-hour': { type: 'string' },
        'max-runs-per-hour': { type: 'string' },
        alert: { type: 'string' },
      });
      const [sub, ref] = positionals;
      const body = sub === 'create' ? createBody(ref, values) : undefined;
      const target = resolveTarget(values);
      if (sub === 'list' || sub === undefined) return playbooksList(target, values.json);
      if (sub === 'create' && body) return playbooksCreate(target, body, values.json);
      if (sub === 'show' && ref) return playbooksShow(target, ref, values.json);
      if (sub === 'enable' && ref)
        return playbooksSet(target, ref, true, { dryRun: values['dry-run'], live: values.live }, values.json);
      if (sub === 'disable' && ref)
        return playbooksSet(
          target,
          ref,
          false,
          { dryRun: values['dry-run'], live: values.live },
          values.json,
        );
      if (sub === 'delete' && ref) return playbooksDelete(target, ref, values.json);
      if (sub === 'runs') return playbooksRuns(target, ref, values.alert, values.json);
      throw new CliError(`unknown: playbooks ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'alerts': {
      const { values, positionals } = parse(rest, {
        agent: { type: 'string' },
        rule: { type: 'string' },
        severity: { type: 'string' },
        'min-severity': { type: 'string' },
        status: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        assignee: { type: 'string' },
        comment: { type: 'string' },
      });
      const target = resolveTarget(values);
      const [sub, id] = positionals;
      if (sub === 'list' || sub === undefined) {
        return alertsList(
          target,
          {
            agent_id: values.agent,
            rule_id: values.rule,
            severity: values.severity,
            min_severity: values['min-severity'],
            status: values.status,
            from: values.from,
            to: values.to,
            limit: values.limit,
            cursor: values.cursor,
          },
          values.json,
        );
      }
      if (sub === 'show' && id) return alertsShow(target, id);
      const note = values.comment !== undefined ? { comment: values.comment } : {};
      if (sub === 'resolve' && id)
        return alertsUpdate(target, id, { status: 'resolved', ...note }, values.json);
      if (sub === 'update' && id) {
        return alertsUpdate(
          target,
          id,
          {
            ...(values.status !== undefined ? { status: values.status } : {}),
            ...(values.assignee !== undefined ? { assignee: values.assignee } : {}),
            ...note,
          },
          values.json,
        );
      }
      throw new CliError(`unknown: alerts ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'detection': {
      const { values, positionals } = parse(rest, {});
      if (positionals[0] === 'status') return detectionStatus(resolveTarget(values), values.json);
      throw new CliError(`unknown: detection ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'groups': {
      const { values, positionals } = parse(rest, {
        tier: { type: 'string' },
        channel: { type: 'string' },
        window: { type: 'string' },
        days: { type: 'string' },
        start: { type: 'string' },
        end: { type: 'string' },
        tz: { type: 'string' },
        'move-agents-to': { type: 'string' },
      });
      const target = resolveTarget(values);
      const [sub, a, b] = positionals;
      if (sub === 'list' || sub === undefined) return groupsList(target, values.json);
      if (sub === 'create' && a) return groupsCreate(target, a, values, values.json);
      if (sub === 'rename' && a && b) return groupsRename(target, a, b, values.json);
      if (sub === 'delete' && a) return groupsDelete(target, a, values['move-agents-to'], values.json);
      if (sub === 'set-policy' && a) return groupsSetPolicy(target, a, values, values.json);
      throw new CliError(`unknown: groups ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'tokens': {
      const { values, positionals } = parse(rest, {
        role: { type: 'string' },
        'expires-in': { type: 'string' },
        'expires-at': { type: 'string' },
      });
      const target = resolveTarget(values);
      const [sub, a] = positionals;
      if (sub === 'list' || sub === undefined) return tokensList(target, values.json);
      if (sub === 'create' && a) {
        if (!values.role)
          throw new CliError('tokens create NAME needs --role admin|analyst|viewer|metrics', 2);
        if (values['expires-in'] !== undefined && values['expires-at'] !== undefined)
          throw new CliError('--expires-in and --expires-at cannot be combined', 2);
        return tokensCreate(
          target,
          { name: a, role: values.role, expiresIn: values['expires-in'], expiresAt: values['expires-at'] },
          values.json,
        );
      }
      if (sub === 'revoke' && a) return tokensRevoke(target, a, values.json);
      throw new CliError(`unknown: tokens ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'users': {
      const { values, positionals } = parse(rest, { role: { type: 'string' } });
      const target = resolveTarget(values);
      const [sub, a] = positionals;
      if (sub === 'list' || sub === undefined) return usersList(target, values.json);
      if (sub === 'create' && a) {
        if (!values.role) throw new CliError('users create NAME needs --role admin|analyst|viewer', 2);
        return usersCreate(target, a, values.role, values.json);
      }
      if (sub === 'set-role' && a) {
        if (!values.role) throw new CliError('users set-role NAME needs --role admin|analyst|viewer', 2);
        return usersAct(target, 'set-role', a, values.json, values.role);
      }
      if ((sub === 'reset-password' || sub === 'unlock' || sub === 'disable' || sub === 'enable') && a)
        return usersAct(target, sub, a, values.json);
      throw new CliError(`unknown: users ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'audit': {
      const { values, positionals } = parse(rest, {
        actor: { type: 'string' },
        action: { type: 'string' },
        target: { type: 'string' },
        outcome: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      });
      if (positionals[0] !== 'search')
        throw new CliError(`unknown: audit ${positionals.join(' ')}\n\n${USAGE}`, 2);
      const { actor, action, target, outcome, from, to, limit, cursor } = values;
      return auditSearch(
        resolveTarget(values),
        { actor, action, target, outcome, from, to, limit, cursor },
        values.json,
      );
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
        all: { type: 'boolean', default: false },
        jsonl: { type: 'boolean', default: false },
      });
      if (positionals[0] !== 'search')
        throw new CliError(`unknown: events ${positionals.join(' ')}\n\n${USAGE}`, 2);
      return eventsSearch(resolveTarget(values), values, {
        json: values.json,
        jsonl: values.jsonl,
        all: values.all,
      });
    }
    case 'keys': {
      const { values, positionals } = parse(rest, {
        group: { type: 'string' },
        'max-uses': { type: 'string' },
      });
      const target = resolveTarget(values);
      if (positionals[0] === 'list' || positionals[0] === undefined)
        return keysList(target, values.json, values.group);
      if (positionals[0] === 'create')
        return keysCreate(target, { group: values.group, maxUses: values['max-uses'] }, values.json);
      if (positionals[0] === 'revoke' && positionals[1])
        return keysRevoke(target, positionals[1], values.json);
      if (positionals[0] === 'claim' && positionals[1]) return keysClaim(target, positionals[1], values.json);
      throw new CliError(`unknown: keys ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'rules': {
      const { values, positionals } = parse(rest, {
        events: { type: 'string' },
        placeholders: { type: 'string' },
      });
      const [sub, ...paths] = positionals;
      if (sub === 'list' || sub === 'reload')
        return rulesList(resolveTarget(values), values.json, sub === 'reload');
      if (sub === 'test')
        return rulesTest(paths, {
          events: values.events,
          json: values.json,
          placeholders: values.placeholders,
        });
      throw new CliError(`unknown: rules ${positionals.join(' ')}\n\n${USAGE}`, 2);
    }
    case 'ca': {
      const { values, positionals } = parse(rest, { force: { type: 'boolean', default: false } });
      const sub = positionals[0] ?? 'status';
      if (!['status', 'rotate', 'activate', 'retire'].includes(sub) || positionals.length > 1)
        throw new CliError(`unknown: ca ${positionals.join(' ')}\n\n${USAGE}`, 2);
      if (values.force && (sub === 'status' || sub === 'rotate'))
        throw new CliError(`ca ${sub} takes no --force`, 2);
      return caCommand(resolveTarget(values), sub, values.force, values.json);
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
