import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody } from '../http/errors.js';

/**
 * DEFAULT_CONSOLE_DIR is where `npm run build` puts the console (apps/console/dist), found from
 * this file's place in apps/server/dist/console/; a path on disk, not an import of the app.
 */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * SECURITY_HEADERS go on every console file: scripts, styles and connections only from this
 * origin (no inline script, so an injected string cannot run), never framed, no referrer.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** loadAssets reads the built console into memory (a few hundred KB): names are fixed at start, never taken from a URL to the disk. */
function loadAssets(dir: string): { index: Buffer; assets: Map<string, Asset>; favicon?: Asset } | undefined {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return undefined;
  const assets = new Map<string, Asset>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const f of readdirSync(assetDir)) {
      const type = TYPES[extname(f)];
      if (type) assets.set(f, { body: readFileSync(join(assetDir, f)), type });
    }
  }
  const fav = join(dir, 'favicon.svg');
  return {
    index: readFileSync(indexPath),
    assets,
    ...(existsSync(fav) ? { favicon: { body: readFileSync(fav), type: TYPES['.svg']! } } : {}),
  };
}

function send(reply: FastifyReply, a: Asset, cache: string): FastifyReply {
  return reply
    .headers({ ...SECURITY_HEADERS, 'cache-control': cache })
    .type(a.type)
    .send(a.body);
}

/**
 * serveConsole serves the web console's single page at `/` and its hashed files at
 * `/assets/<file>` (cached for a year: their names change with their content). The app routes
 * in the URL fragment (`/#/agents/…`), so no other path is needed. Without a build, `/` says how
 * to make one.
 */
export function serveConsole(app: FastifyInstance, dir: string = DEFAULT_CONSOLE_DIR): void {
  const built = loadAssets(dir);
  app.get('/', async (_req, reply) => {
    if (!built)
      return reply
        .code(503)
        .headers(SECURITY_HEADERS)
        .type('text/plain; charset=utf-8')
        .send(`The web console is not built (no ${join(dir, 'index.html')}); run: npm run build\n`);
    return send(reply, { body: built.index, type: TYPES['.html']! }, 'no-cache');
  });
  app.get('/assets/:file', async (req, reply) => {
    const a = built?.assets.get((req.params as { file: string }).file);
    if (!a) return reply.code(404).send(errorBody('not_found', 'no such console file'));
    return send(reply, a, 'public, max-age=31536000, immutable');
  });
  app.get('/favicon.svg', async (_req, reply) => {
    if (!built?.favicon) return reply.code(404).send(errorBody('not_found', 'no favicon'));
    return send(reply, built.favicon, 'public, max-age=86400');
  });
}
