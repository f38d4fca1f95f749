// Test-only: Debian's Chromium driven by playwright-core (no browser download), optionally inside
// a lab network namespace (through `ip netns exec`; Playwright's pipe is inherited). The page
// guard fails a test on a console error, a failed request or an error answer it did not expect.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@palisade/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** launchChromium starts headless Chromium with the flags that keep it off the network it does not test. */
export async function launchChromium(o: { netns?: string; hostRules?: string } = {}): Promise<Browser> {
  let executablePath = CHROMIUM;
  if (o.netns) {
    executablePath = join(tempDir('palisade-e2e-chromium-'), 'chromium-in-netns');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${o.netns} ${CHROMIUM} "$@"\n`, {
      mode: 0o755,
    });
  }
  // Playwright gives every launch a fresh temporary profile (--user-data-dir) and removes it on close.
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(o.hostRules ? [`--host-resolver-rules=${o.hostRules}`] : []),
    ],
  });
}

/** PageGuard records what a page did wrong; `expect` allows error answers a test provokes on purpose. */
export class PageGuard {
  readonly problems: string[] = [];
  readonly urls: string[] = [];
  private readonly allowed: { status: number; url: RegExp }[] = [];
  private errorAnswers = 0;
  private consoleLoadErrors = 0;

  constructor(readonly page: Page) {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // Chromium logs each error answer as "Failed to load resource"; those are checked as answers below.
      if (/Failed to load resource: the server responded with a status of \d+/.test(m.text()))
        this.consoleLoadErrors++;
      else this.problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // A live stream cut by navigation or logout is not a failure of the page.
      if (r.url().endsWith('/api/v1/stream')) return;
      this.problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('request', (r) => this.urls.push(r.url()));
    page.on('response', (r) => {
      if (r.status() < 400) return;
      this.errorAnswers++;
      const url = r.url();
      if (!this.allowed.some((a) => a.status === r.status() && a.url.test(url)))
        this.problems.push(`unexpected ${r.status()} for ${r.request().method()} ${url}`);
    });
  }

  /** expect allows answers with `status` for URLs matching `url` from now on. */
  expect(status: number, url: RegExp): void {
    this.allowed.push({ status, url });
  }

  /** check throws when the page logged an error, a request failed, or an answer was an unexpected error. */
  check(): void {
    if (this.consoleLoadErrors > this.errorAnswers)
      this.problems.push(
        `${this.consoleLoadErrors - this.errorAnswers} console load errors without an error answer`,
      );
    if (this.problems.length) throw new Error(`the page misbehaved:\n${this.problems.join('\n')}`);
  }
}
