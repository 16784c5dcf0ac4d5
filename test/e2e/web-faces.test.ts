/**
 * The web page with a face on camera: Chromium's fake camera plays a .y4m of the astronaut photo
 * (python3-skimage), the page goes live with `anonymize`, and beside the video it shows the faces
 * the server found and the frames it covered whole. The Style control beside the filter list is
 * the session's style: chosen before the start it goes in the offer, changed live it goes over
 * the data channel, and the server's session reports it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { SKIMAGE_DATA } from '../../bench/faces/dataset.js';
import { launchBrowser, screenshotBoth, type TestBrowser } from '../support/browser.js';
import { datasetAvailable, rgbaToI420 } from '../support/face-frames.js';
import { startTestServer, type TestServer } from '../support/server.js';

const W = 320, H = 240;

/** A one-frame .y4m (Chromium loops it) of her face and shoulders, the face about 0.4 of the height. */
async function faceY4m(file: string): Promise<void> {
  const { data } = await sharp(path.join(SKIMAGE_DATA, 'astronaut.png'))
    .extract({ left: 110, top: 20, width: 240, height: 240 }).resize(240, 240)
    .extend({ left: 40, right: 40, background: { r: 90, g: 90, b: 90 } })
    .ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const frame = rgbaToI420({ width: W, height: H, data: new Uint8Array(data.buffer, data.byteOffset, data.length) });
  await writeFile(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\nFRAME\n`), Buffer.from(frame.data)]));
}

describe('the web page with anonymize', { skip: !datasetAvailable() && 'python3-skimage is not installed' }, () => {
  let srv: TestServer;
  let browser: TestBrowser;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rtc-e2e-faces-'));
    const y4m = path.join(dir, 'face.y4m');
    await faceY4m(y4m);
    srv = await startTestServer({ env: { RTC_BACKEND: 'cpu' } });
    browser = await launchBrowser([`--use-file-for-fake-video-capture=${y4m}`]);
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('shows the faces found beside the live video', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${srv.url}/app`);
    await page.evaluate('window.rtcApp.ready');
    await page.selectOption('#live-size', '240p');
    await page.selectOption('#live-filter', 'anonymize');
    await page.click('#live-start');
    const end = Date.now() + 30_000;
    let faces = '';
    while (Date.now() < end) {
      faces = (await page.locator('[data-stat="faces"]').textContent()) ?? '';
      if (/^[1-9]/.test(faces)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(faces, /^[1-9]\d* · (\d|none)/, `faces stat: ${faces}`);
    assert.match((await page.locator('[data-stat="faces-whole"]').textContent()) ?? '', /^\d+ of \d+$/);
    assert.match((await page.locator('[data-stat="backend"]').textContent()) ?? '', /anonymize \(blur\)/);
    await screenshotBoth(page, 'web-faces-anonymize');
    await page.close();
  });

  test('the Style control sets the session style, in the offer and live', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${srv.url}/app`);
    await page.evaluate('window.rtcApp.ready');
    assert.equal(await page.locator('#live-style').evaluate((el) => el.closest('label')?.classList.contains('is-dimmed')), true, 'dimmed while the filter is not anonymize');
    await page.selectOption('#live-size', '240p');
    await page.selectOption('#live-filter', 'anonymize');
    await page.selectOption('#live-style', 'pixelate');
    assert.equal(await page.locator('#live-style').evaluate((el) => el.closest('label')?.classList.contains('is-dimmed')), false);
    await page.click('#live-start');
    const styles = async (): Promise<Array<string | null>> => {
      const body = await (await fetch(`${srv.url}/sessions`)).json() as { sessions: Array<{ style: string | null }> };
      return body.sessions.map((x) => x.style);
    };
    const waitFor = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
      for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) if (await ok()) return;
      assert.fail(`${what}: sessions ${JSON.stringify(await styles())}, stat ${await page.locator('[data-stat="backend"]').textContent()}`);
    };
    await waitFor('pixelate in the offer', async () => (await styles()).includes('pixelate')
      && /anonymize \(pixelate\)/.test((await page.locator('[data-stat="backend"]').textContent()) ?? ''));
    await screenshotBoth(page, 'web-faces-pixelate');
    await page.selectOption('#live-style', 'blur');
    await waitFor('blur over the data channel', async () => (await styles()).includes('blur')
      && /anonymize \(blur\)/.test((await page.locator('[data-stat="backend"]').textContent()) ?? ''));
    await page.close();
  });
});
