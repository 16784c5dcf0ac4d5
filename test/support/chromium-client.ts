/**
 * Chromium as a media engine's client: a page (served by the server under test, so the offer is
 * same-origin) opens Chromium's fake camera, offers it to POST /offer with a codec preference,
 * and compares what it sent with what came back, pixel by pixel on a canvas. Used by the engine
 * conformance suite; Chromium is Debian's, driven by playwright-core (test/support/browser.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './browser.js';

/** The page script, in the source tree (dist/test/support → test/support/pages). */
const PAGE_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/support/pages/chromium-session.js');

/** What the page measured. */
export interface ChromiumResult {
  /** Codecs Chromium can send, as MIME types. */
  sendCodecs: string[];
  /** The codec the connection negotiated (from getStats), e.g. "video/VP8". */
  codec: string | null;
  framesReceived: number;
  /** Mean R, G, B of the camera picture and of the processed picture, sampled at the same moments. */
  sentMean: [number, number, number];
  receivedMean: [number, number, number];
  /** jitterBufferTarget as the receiver reports it after the page set it to 0 (null: unsupported). */
  jitterBufferTarget: number | null;
  error: string | null;
}

/** What the page's WHEP viewer saw. */
export interface ChromiumWhepResult {
  /** Status of the POST /whep (201 when answered). */
  status: number | null;
  codec: string | null;
  framesReceived: number;
  /** Mean R, G, B of the viewed picture over the sampling time. */
  receivedMean: [number, number, number];
  /** From the page's offer to the first rendered frame, ms. */
  firstFrameMs: number | null;
  deleteStatus: number | null;
  error: string | null;
}

/** Options of one Chromium session. */
export interface ChromiumSessionOptions {
  filter: string;
  /** Offer this codec alone, with RTX ("video/H264"); absent: every codec in Chromium's own order. */
  preferCodec?: string;
  /** How long to sample the pictures, ms. */
  sampleMs?: number;
}

/** A Chromium that runs sessions against one server. */
export class ChromiumClient {
  private constructor(private readonly browser: TestBrowser, private readonly page: Page) {}

  /** Start Chromium on `baseUrl` (any page of the server: it only gives the origin). */
  static async start(baseUrl: string): Promise<ChromiumClient> {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${baseUrl}/healthz`);
      // Evaluated over the DevTools protocol: the server's Content-Security-Policy forbids inline scripts.
      await page.evaluate(readFileSync(PAGE_SCRIPT, 'utf8'));
      return new ChromiumClient(browser, page);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** Codecs Chromium offers for sending video. */
  async sendCodecs(): Promise<string[]> {
    return (await this.page.evaluate("RTCRtpSender.getCapabilities('video').codecs.map((c) => c.mimeType)")) as string[];
  }

  /** One session: camera in, processed video out, pictures compared. */
  async run(options: ChromiumSessionOptions): Promise<ChromiumResult> {
    return (await this.page.evaluate(
      (o) => (globalThis as unknown as { runSession: (opts: unknown) => Promise<unknown> }).runSession(o),
      { filter: options.filter, preferCodec: options.preferCodec ?? null, sampleMs: options.sampleMs ?? 2000 },
    )) as ChromiumResult;
  }

  /** Watch session `sessionId` over WHEP from the page for `sampleMs`, then DELETE the viewer. */
  async watchWhep(sessionId: string, sampleMs = 2000): Promise<ChromiumWhepResult> {
    return (await this.page.evaluate(
      (o) => (globalThis as unknown as { watchWhep: (opts: unknown) => Promise<unknown> }).watchWhep(o),
      { sessionId, sampleMs },
    )) as ChromiumWhepResult;
  }

  /** Close Chromium and its profile. */
  async close(): Promise<void> {
    await this.browser.close();
  }
}
