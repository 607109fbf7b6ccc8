import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { neededUnderCi } from './needed-under-ci.js';

/** Debian's Chromium: the browser tests drive it with playwright-core and never download one. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = neededUnderCi(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`) === true;

/** Headless Chromium without the background traffic a test has no use for. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
