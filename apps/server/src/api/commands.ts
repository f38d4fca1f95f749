import { PalisadeError } from '@palisade/common';
import type { CommandState, CommandType } from '@palisade/storage';
import { commandView } from '../response/isolation-view.js';
import type { ApiRoute } from './context.js';
import { cursor, idParams, limit, NO_QUERY, object, oneOf, uuid } from './schema.js';

const STATES: CommandState[] = ['pending', 'delivered', 'succeeded', 'failed', 'expired'];
const TYPES: CommandType[] = [
  'isolate',
  'restore',
  'kill_process',
  'quarantine_file',
  'restore_file',
  'collect_file',
];

/** COMMAND_ROUTES list and show response commands with their state and result (viewer and up). */
export const COMMAND_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/commands',
    schema: {
      summary: 'Response commands with their state and result, newest first',
      querystring: object({
        agent_id: uuid,
        state: oneOf(STATES, `a command state (${STATES.join(', ')})`),
        type: oneOf(TYPES, `a command type (${TYPES.join(', ')})`),
        limit,
        cursor,
      }),
    },
    async handler(req, ctx) {
      const q = req.query as {
        agent_id?: string;
        state?: CommandState;
        type?: CommandType;
        limit?: number;
        cursor?: string;
      };
      let page: Awaited<ReturnType<typeof ctx.storage.listCommands>>;
      try {
        page = await ctx.storage.listCommands({
          limit: q.limit ?? 100,
          ...(q.agent_id ? { agentId: q.agent_id.toLowerCase() } : {}),
          ...(q.state ? { state: q.state } : {}),
          ...(q.type ? { type: q.type } : {}),
          ...(q.cursor ? { cursor: q.cursor } : {}),
        });
      } catch (err) {
        if (q.cursor !== undefined && err instanceof PalisadeError && err.status === 400) {
          throw new PalisadeError('validation_failed', `parameter cursor: not a cursor from this server`);
        }
        throw err;
      }
      return { commands: page.commands.map(commandView), next_cursor: page.nextCursor ?? null };
    },
  },
  {
    method: 'GET',
    url: '/commands/:id',
    schema: {
      summary: 'One response command with its state and result',
      params: idParams,
      querystring: NO_QUERY,
    },
    async handler(req, ctx) {
      const id = (req.params as { id: string }).id.toLowerCase();
      const c = await ctx.storage.getCommand(id);
      if (!c) throw new PalisadeError('not_found', `no command ${id}`);
      return { command: commandView(c) };
    },
  },
];
