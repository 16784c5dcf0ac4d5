/**
 * Launches Debian's Chromium for the end-to-end tests through playwright-core, with a fake
 * camera, a fresh profile directory (removed on close) and nothing that phones home.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.RTC_CHROMIUM ?? '/usr/bin/chromium';

/** The flags the project's e2e tests run Chromium with (see issue 4). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Start Chromium with a throw-away profile (and `extraArgs`, e.g. a .y4m file as the fake camera). */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'rtc-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
    viewport: DESKTOP,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go: $RTC_TEST_OUTPUT/screenshots (test-output/ by default). */
export async function screenshotDir(): Promise<string> {
  const dir = path.join(process.env.RTC_TEST_OUTPUT ?? 'test-output', 'screenshots');
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Full-page screenshots of `page` at desktop and phone width, named `<name>-desktop.png` / `<name>-phone.png`. */
export async function screenshotBoth(page: Page, name: string): Promise<void> {
  const dir = await screenshotDir();
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(dir, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: path.join(dir, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(before);
}
