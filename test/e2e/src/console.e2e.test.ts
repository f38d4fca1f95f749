// The web console in a real browser (root): Debian's Chromium (playwright-core) runs inside the
// lab's "backend" namespace against a real `palisade server` there, with a real agent (eBPF
// sensor, nftables isolation) in the "endpoint" namespace, as in response.e2e.test.ts. Isolation
// acts only inside the endpoint namespace; every namespace, process and profile goes at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run, waitFor } from '@palisade/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, PageGuard } from './browser.test-util.js';
import { ROOT } from './processes.js';
import { BACKEND_NAME, ResponseLab } from './response-lab.test-util.js';

const L = new ResponseLab();
const RUN = `con${randomBytes(4).toString('hex')}`;
const URL_BASE = `https://${BACKEND_NAME}:7443/`;
const SHOTS = join(ROOT, 'docs/screenshots');
const ADMIN_PASSWORD = `operator passphrase ${RUN}`;
const VIEWER_PASSWORD = `viewer passphrase ${RUN}`;
let browser: Browser;
let firstPassword = '';
const secrets: string[] = [];
const guards: PageGuard[] = [];
let admin: { ctx: BrowserContext; page: Page; guard: PageGuard };

async function newPage(): Promise<{ ctx: BrowserContext; page: Page; guard: PageGuard }> {
  // The lab's CA is not in Chromium's store; the server's certificate is checked by every other e2e test.
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  const guard = new PageGuard(page);
  // Opening the console before logging in asks who we are: 401 is the answer.
  guard.expect(401, /\/api\/v1\/session$/);
  guards.push(guard);
  return { ctx, page, guard };
}

async function login(page: Page, name: string, password: string): Promise<void> {
  await page.goto(URL_BASE);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function changePassword(page: Page, from: string, to: string): Promise<void> {
  await page.getByRole('heading', { name: 'Change your password' }).waitFor();
  await page.getByLabel('Current password').fill(from);
  await page.getByLabel('New password', { exact: true }).fill(to);
  await page.getByLabel('New password again').fill(to);
  await page.getByRole('button', { name: 'Change password' }).click();
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

before(async () => {
  await L.start();
  await L.startAgent();
  firstPassword = readFileSync(join(L.dataDir, 'initial-admin-password'), 'utf8').trim();
  secrets.push(firstPassword, ADMIN_PASSWORD, VIEWER_PASSWORD);
  browser = await launchChromium({ netns: L.backend.ns, hostRules: `MAP ${BACKEND_NAME} ${L.backend.v4}` });
  admin = await newPage();
});

after(async () => {
  if (process.env.PALISADE_CONSOLE_DEBUG && admin) {
    console.log(await admin.page.content().catch(String));
    console.log(guards.flatMap((g) => g.problems).join('\n'));
  }
  await browser?.close().catch(() => {});
  await L.cleanup();
  assert.doesNotMatch((await run('nft', ['list', 'tables'])).out, /palisade/);
});

test('console (root): the first admin logs in with the password from the root-only file and must change it', async () => {
  const { page, guard } = admin;
  await login(page, 'admin', firstPassword);
  await changePassword(page, firstPassword, ADMIN_PASSWORD);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.locator('.stat', { hasText: 'online' }).first().waitFor();
  await shot(page, 'overview');
  const cookies = await admin.ctx.cookies();
  const c = cookies.find((x) => x.name === '__Host-palisade_session');
  assert.ok(c, JSON.stringify(cookies));
  assert.equal(c.httpOnly, true);
  assert.equal(c.secure, true);
  assert.equal(c.sameSite, 'Strict');
  secrets.push(c.value);
  guard.check();
});

test('console (root): the agents table shows the real agent online; its page has a process tree from real execs', async () => {
  const { page, guard } = admin;
  // Real execs in the endpoint: a shell that runs two children with a marker.
  const r = await L.lab.exec(L.endpoint, [
    '/bin/sh',
    '-c',
    `/bin/echo ${RUN}-child; /bin/ls /${RUN}-missing; true`,
  ]);
  assert.ok(r.out.includes(`${RUN}-child`), r.out);
  await waitFor('the exec events to be stored', async () => {
    const ev = await L.json([
      'events',
      'search',
      '--agent',
      L.agentId,
      '--class',
      'process',
      '--contains',
      `${RUN}-child`,
    ]);
    return ev.length > 0;
  });
  await page.getByRole('link', { name: 'Agents' }).click();
  const row = page.locator('tbody tr', { has: page.locator(`a[href="#/agents/${L.agentId}"]`) });
  await row.getByText('online').waitFor();
  await shot(page, 'agents');
  await row.locator(`a[href="#/agents/${L.agentId}"]`).click();
  await page.getByRole('heading', { name: 'Isolation' }).waitFor();
  // The host's eBPF sensor sees every process of this busy machine: narrow the timeline to the run.
  await page.getByLabel('Find in timeline').fill(RUN);
  await page.getByRole('button', { name: 'Refresh' }).click();
  const tree = page.getByRole('list', { name: 'Process tree' });
  // The echo and the ls are nested below the one parent the agent reported for both (the shell's pid).
  const echo = tree.locator('code', { hasText: `/bin/echo ${RUN}-child` }).first();
  await echo.waitFor();
  const parent = await echo.locator('xpath=ancestor::li[2]/div/code').innerText();
  assert.ok(parent.length > 0);
  const ls = tree.locator('code', { hasText: `/bin/ls /${RUN}-missing` }).first();
  assert.equal(await ls.locator('xpath=ancestor::li[2]/div/code').innerText(), parent);
  const shell = echo.locator('xpath=ancestor::li[2]');
  await shell.scrollIntoViewIfNeeded();
  await shot(page, 'agent');
  guard.check();
});

test('console (root): isolate and restore from the agent page; the confirmation names the host and the agent applies it', async () => {
  const { page, guard } = admin;
  const host = (await L.json(['agents', 'show', L.agentId])).hostname as string;
  await page.getByLabel('Reason').fill(`console e2e ${RUN}`);
  await page.getByRole('button', { name: 'Isolate host' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('heading', { name: `Isolate ${host}?` }).waitFor();
  await dialog.getByRole('button', { name: `Isolate ${host}` }).click();
  // The live stream brings the agent's answer: no reload.
  await page.locator('.badge', { hasText: /^isolated$/ }).waitFor({ timeout: 60_000 });
  assert.ok(
    (await L.tables()).includes('inet palisade_isolation'),
    'the agent applied its table in its namespace',
  );
  assert.equal(await L.reachesOther(), false, 'the endpoint is cut off');
  await page.getByRole('table', { name: 'Command history' }).getByText('succeeded').first().waitFor();
  await shot(page, 'agent-isolated');
  const cmds = await L.json(['commands', 'list', '--agent', L.agentId]);
  const iso = (cmds.commands ?? cmds).find((c: { type: string }) => c.type === 'isolate');
  assert.equal(iso.state, 'succeeded');
  assert.equal(iso.requested_by.name, 'user:admin');

  await page.getByRole('button', { name: 'Restore network' }).click();
  await page
    .getByRole('dialog')
    .getByRole('button', { name: `Restore ${host}` })
    .click();
  await page.getByRole('button', { name: 'Isolate host' }).waitFor({ timeout: 60_000 });
  await waitFor(
    'the table to go',
    async () => !(await L.tables()).includes('inet palisade_isolation'),
    60_000,
  );
  assert.equal(await L.reachesOther(), true);
  guard.check();
});

test('console (root): create a group and see its registration key expire one year out', async () => {
  const { page, guard } = admin;
  await page.getByRole('link', { name: 'Groups & keys' }).click();
  await page.getByLabel('New group').fill(RUN);
  await page.getByRole('button', { name: 'Create group' }).click();
  const secret = await page.locator('.secret-value').innerText();
  assert.match(secret, /^prk_/);
  secrets.push(secret);
  const table = page.getByRole('table', { name: `Registration keys of ${RUN}` });
  const when = await table.locator('.expiry time').first().getAttribute('datetime');
  const days = (Date.parse(when!) - Date.now()) / 86_400_000;
  assert.ok(days > 363 && days < 367, `key expires in ${days} days`);
  await page.getByRole('button', { name: 'Done' }).click();
  await table.scrollIntoViewIfNeeded();
  await shot(page, 'groups');
  guard.check();
});

test('console (root): search events by text, open the OCSF JSON of a row, follow it to the host', async () => {
  const { page, guard } = admin;
  await page.getByRole('link', { name: 'Events' }).click();
  await page.getByLabel('Class').selectOption('process');
  await page.getByLabel('Text').fill(`${RUN}-child`);
  await page.getByRole('button', { name: 'Search' }).click();
  // The host's sensor also saw this test's own CLI searching for the marker: pick the echo's row.
  const row = page
    .getByRole('table', { name: 'Events' })
    .locator('tbody tr', { hasText: `/bin/echo ${RUN}-child` })
    .first();
  await row.getByText(`/bin/echo ${RUN}-child`).waitFor();
  await row.getByRole('button', { name: 'OCSF JSON' }).click();
  const json = JSON.parse(await page.locator('pre.json').innerText());
  assert.equal(json.class_uid, 1007);
  assert.equal(json.device.uid, L.agentId);
  await shot(page, 'events');
  await row.getByTitle('Host timeline').click();
  await page.getByRole('list', { name: 'Process tree' }).waitFor();
  assert.match(page.url(), new RegExp(`#/agents/${L.agentId}$`));
  guard.check();
});

test('console (root): the audit log names the user; users and tokens are managed there', async () => {
  const { page, guard } = admin;
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('command.isolate');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('table', { name: 'Audit entries' }).getByText('user:admin').first().waitFor();
  await shot(page, 'audit');
  await page.getByRole('link', { name: 'Users & tokens' }).click();
  await page.getByLabel('Name').first().fill('vera');
  await page.getByLabel('Role').first().selectOption('viewer');
  await page.getByRole('button', { name: 'Create user' }).click();
  const shown = await page.locator('.secret-value').innerText();
  const temp = /temporary password of vera: (\S+)/.exec(shown)?.[1];
  assert.ok(temp, shown);
  secrets.push(temp);
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('table', { name: 'Users' }).getByText('must change password').waitFor();
  await shot(page, 'users');
  guard.check();

  // A viewer: no isolate button, and the API says 403 when it is called anyway.
  const v = await newPage();
  await login(v.page, 'vera', temp);
  await changePassword(v.page, temp, VIEWER_PASSWORD);
  await v.page.getByRole('heading', { name: 'Overview' }).waitFor();
  await v.page.goto(`${URL_BASE}#/agents/${L.agentId}`);
  await v.page.getByText('Your role (viewer) cannot isolate or restore hosts.').waitFor();
  assert.equal(await v.page.getByRole('button', { name: 'Isolate host' }).count(), 0);
  v.guard.expect(403, /\/isolate$/);
  const refused = await v.page.evaluate(async (id) => {
    const me = (await (await fetch('/api/v1/session')).json()) as { csrf_token: string };
    const r = await fetch(`/api/v1/agents/${id}/isolate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
      body: JSON.stringify({ reason: 'viewer tries' }),
    });
    return { status: r.status, body: (await r.json()) as { error: { message: string } } };
  }, L.agentId);
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, /needs role analyst; user "vera" has role viewer/);
  v.guard.check();

  // CSRF: the admin's own session cannot change anything without the header.
  guard.expect(403, /\/api\/v1\/groups$/);
  const forged = await page.evaluate(async () => {
    const r = await fetch('/api/v1/groups', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'forged' }),
    });
    return { status: r.status, body: (await r.json()) as { error: { message: string } } };
  });
  assert.equal(forged.status, 403);
  assert.match(forged.body.error.message, /X-CSRF-Token/);
  await v.ctx.close();
});

test('console (root): five wrong passwords lock the account; the right one is refused then', async () => {
  const x = await newPage();
  x.guard.expect(401, /\/api\/v1\/session$/);
  x.guard.expect(403, /\/api\/v1\/session$/);
  for (let i = 0; i < 5; i++) {
    await login(x.page, 'vera', `wrong password ${i}`);
    await x.page.getByRole('alert').getByText('wrong user name or password').waitFor();
  }
  await login(x.page, 'vera', VIEWER_PASSWORD);
  await x.page
    .getByRole('alert')
    .getByText(/locked after 5 wrong passwords/)
    .waitFor();
  await shot(x.page, 'login-locked');
  x.guard.check();
  await x.ctx.close();
});

test('console (root): logout ends the session; no secret ever appears in a URL or the server log', async () => {
  const { page, guard } = admin;
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const after = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  assert.equal(after, 401);
  guard.check();
  const urls = guards.flatMap((g) => g.urls);
  assert.ok(urls.length > 20, `only ${urls.length} requests seen`);
  const log = L.server?.output() ?? '';
  for (const s of secrets) {
    for (const u of urls) assert.equal(u.includes(s), false, `a secret in ${u}`);
    assert.equal(log.includes(s), false, 'a secret in the server log');
    assert.equal(log.includes(encodeURIComponent(s)), false, 'a secret in the server log');
  }
  assert.ok(log.includes('"audit":"session.login"'), 'the server log has the logins (audit lines)');
});
