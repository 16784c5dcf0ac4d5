/**
 * The media settings, each declared once: its environment variable, default, range and what it
 * does. src/server/config.ts parses them from this table, the native engine and the load
 * generator's native client take their defaults from it, and docs/configuration.md states the same
 * (test/unit/media/media-settings.test.ts keeps the page and the table in step).
 *
 * It lives in the media layer, the lowest layer that uses these settings: the server reads the
 * environment (server -> media), the engine and the load generator's client import the defaults,
 * and nothing below media (processing, protocol) needs them.
 */

/** One numeric media setting. */
export interface NumericSetting {
  /** The environment variable the server reads. */
  readonly env: string;
  /** integer: whole numbers only; number: any finite value in range. */
  readonly kind: 'integer' | 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** One line for docs/configuration.md. */
  readonly doc: string;
}

/** One on/off media setting. */
export interface BooleanSetting {
  readonly env: string;
  readonly kind: 'boolean';
  readonly default: boolean;
  readonly doc: string;
}

export type MediaSetting = NumericSetting | BooleanSetting;

/** Every media setting of the native engine (and what the libwebrtc engine shares with it). */
export const MEDIA_SETTINGS = {
  videoBitrateMinKbps: {
    env: 'RTC_VIDEO_BITRATE_MIN_KBPS', kind: 'integer', default: 150, min: 30, max: 50_000,
    doc: 'native engine: lowest send bitrate the feedback (REMB, transport-cc, receiver reports) may push it to',
  },
  videoBitrateMaxKbps: {
    env: 'RTC_VIDEO_BITRATE_MAX_KBPS', kind: 'integer', default: 2000, min: 30, max: 50_000,
    doc: 'native engine: highest send bitrate (the encoder is also capped at 0.15 bit/pixel)',
  },
  videoBitrateStartKbps: {
    env: 'RTC_VIDEO_BITRATE_START_KBPS', kind: 'integer', default: 800, min: 30, max: 50_000,
    doc: 'native engine: send bitrate of a new session',
  },
  videoInputBitsPerPixel: {
    env: 'RTC_VIDEO_INPUT_BPP', kind: 'number', default: 0.05, min: 0.005, max: 1,
    doc: 'native engine: the most a client is asked to send (REMB), in bits per pixel at 30 fps within the bitrate bounds and at least 300 kbit/s: 0.35 Mbit/s at 360p, 1.4 Mbit/s at 720p ([media-engines.md](media-engines.md#rtp), "The client\'s bitrate")',
  },
  keyframeIntervalMs: {
    env: 'RTC_KEYFRAME_INTERVAL_MS', kind: 'integer', default: 10_000, min: 100, max: 60_000,
    doc: 'native engine: longest time between key frames, a safety net: receivers get one at once when they join, send PLI/FIR or lose a frame (a key frame every 10 s instead of 2.5 s: 360p encode 2.75 instead of 3.09 ms a frame, +1.7 dB PSNR at the same bitrate; [2026-12-06-native-cost-breakdown.md](measurements/2026-12-06-native-cost-breakdown.md))',
  },
  vp8CpuUsed: {
    env: 'RTC_VP8_CPU_USED', kind: 'integer', default: 0, min: -16, max: 16,
    doc: 'native engine: libvpx speed. 0: by frame size (15 up to 640x480, 13 up to 1280x720, 12 above). Positive c gives libvpx (16 - c)/16 of the frame interval and it picks the speed that fits, so a loaded machine gets faster, lower-quality frames instead of late ones (360p: 15 costs 2.4 ms a frame at 42.6 dB PSNR, 12 costs 3.3 ms at 42.8 dB; 720p: 13 costs 6.3 ms at 42.2 dB, 12 8.6 ms at 42.4 dB); negative fixes it (-16: 360p 1.8 ms at 40.7 dB; [2026-12-06-vp8-budget.md](measurements/2026-12-06-vp8-budget.md))',
  },
  preferH264: {
    env: 'RTC_PREFER_H264', kind: 'boolean', default: true,
    doc: 'native engine: answer H264 (packetization-mode 1, baseline) when an offer has it, whatever its place in the offer (Chromium lists VP8 first); libx264 ultrafast and FFmpeg\'s decoder cost 0.54-0.70x libvpx\'s encode + decode CPU at 360p and 720p at a PSNR within 1.3 dB ([2026-12-06-native-h264.md](measurements/2026-12-06-native-h264.md)). Off: the client\'s order wins',
  },
  transportCc: {
    env: 'RTC_TRANSPORT_CC', kind: 'boolean', default: true,
    doc: 'native engine: negotiate transport-cc, so both sides run delay-based congestion control on per-packet feedback. Off: the client adapts to REMB and loss only, and the engine\'s own estimate to receiver reports, loss and REMB. Off suits LAN clients on libwebrtc around M106, whose pacer holds each packet 11-13 ms with transport-cc and 5.3 ms without (the load generator\'s default client at one 360p session: p95 42.3 ms with it, 18.6 ms without); Chromium 156 round-trips in about 6 ms either way ([2026-12-06-transport-cc-setting.md](measurements/2026-12-06-transport-cc-setting.md))',
  },
  hardwareCodecs: {
    env: 'RTC_HARDWARE_CODECS', kind: 'boolean', default: true,
    doc: 'native engine: NVENC/NVDEC where a CUDA device has them (else software)',
  },
  frameTimeoutMs: {
    env: 'RTC_FRAME_TIMEOUT_MS', kind: 'integer', default: 150, min: 20, max: 5000,
    doc: 'native engine: an incoming frame not complete after this long is dropped and a key frame asked for',
  },
  retransmitBudgetKbps: {
    env: 'RTC_RTX_BUDGET_KBPS', kind: 'integer', default: 1000, min: 50, max: 100_000,
    doc: 'native engine: the most one client may make the server resend in answer to its NACKs, with at most 300 packets a second and half a second of burst; past it, NACKs are dropped and counted ([security.md](security.md#media-level-peers))',
  },
} as const satisfies Record<string, MediaSetting>;

export type MediaSettingName = keyof typeof MEDIA_SETTINGS;

/** Whether `value` is allowed for the numeric setting `s` (type and range). */
export function inRange(s: NumericSetting, value: number): boolean {
  return Number.isFinite(value) && value >= s.min && value <= s.max && (s.kind === 'number' || Number.isInteger(value));
}

/**
 * Check an option given in code (not through the environment) against the setting's range;
 * throws RangeError naming the option, e.g. "frameTimeoutMs must be an integer within 20..5000".
 */
export function checkSetting(name: MediaSettingName, value: number): number {
  const s = MEDIA_SETTINGS[name];
  if (s.kind === 'boolean') throw new TypeError(`${name} is not numeric`);
  if (!inRange(s, value)) throw new RangeError(`${name} must be ${s.kind === 'integer' ? 'an integer' : 'a number'} within ${s.min}..${s.max}`);
  return value;
}
