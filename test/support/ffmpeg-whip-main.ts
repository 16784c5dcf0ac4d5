/**
 * The child process of FfmpegWhipPublisher (ffmpeg-whip-publisher.ts): encodes stamped synthetic
 * video with libx264 and hands it to FFmpeg's `whip` muxer, which does all of WHIP itself (the
 * POST, ICE, DTLS, SRTP, RTP packetization, and the DELETE when the trailer is written). Its own
 * process, so that a native crash or a call that never returns takes neither the test runner nor
 * its event loop with it. Settings come as JSON in argv[2]; reports go to the parent over IPC.
 */
import {
  AV_CODEC_FLAG_GLOBAL_HEADER, AV_LOG_VERBOSE, AV_PIX_FMT_YUV420P, Codec, CodecContext, Dictionary,
  FF_ENCODER_LIBX264, FFmpegError, FormatContext, Frame, Log, Packet, Rational,
} from 'node-av';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { writeStamp } from '../../src/loadgen/stamp.js';
import type { FfmpegWhipChildSettings, FfmpegWhipFromChild, FfmpegWhipToChild } from './ffmpeg-whip-publisher.js';

function report(msg: FfmpegWhipFromChild): void {
  process.send?.(msg);
}

/** Report `msg`, wait until it has been handed over, and exit: a plain exit could drop the message. */
async function finish(code: number, msg: FfmpegWhipFromChild): Promise<never> {
  // FFmpeg's log lines reach this thread through a queue: let those already written go first, so
  // the parent has the muxer's own error lines when this message arrives.
  await new Promise((r) => setTimeout(r, 20));
  await new Promise<void>((resolve) => {
    if (!process.send?.(msg, undefined, {}, () => resolve())) resolve();
  });
  process.exit(code);
}

/** FFmpeg's text for an error code, with the code. */
function describe(code: number): string {
  return `${FFmpegError.strerror(code)} (${code})`;
}

const raw = process.argv[2];
if (!raw || !process.send) {
  process.stderr.write('ffmpeg-whip-main.js is started by FfmpegWhipPublisher (IPC channel, JSON settings in argv[2])\n');
  process.exit(2);
}
const settings = JSON.parse(raw) as FfmpegWhipChildSettings;
const { width, height, fps } = settings;

// Verbose is where the whip muxer says what it offered, what it was answered and its Location.
Log.setCallback((level, message) => report({ type: 'log', level, message }), { maxLevel: AV_LOG_VERBOSE });

let stopping = false;
let stopped: () => void = () => undefined;
const stop = new Promise<void>((resolve) => { stopped = resolve; });
process.on('message', (msg: FfmpegWhipToChild) => {
  if (msg.type === 'close') {
    stopping = true;
    stopped();
  }
});
// The parent went away without asking for a close: nobody is left to report to.
process.on('disconnect', () => process.exit(1));

const codec = Codec.findEncoderByName(FF_ENCODER_LIBX264)
  ?? await finish(1, { type: 'error', stage: 'encoder', code: null, message: 'libx264 is not in this FFmpeg build' });
const enc = new CodecContext();
enc.allocContext3(codec);
enc.width = width;
enc.height = height;
enc.pixelFormat = AV_PIX_FMT_YUV420P;
enc.timeBase = new Rational(1, fps);
enc.framerate = new Rational(fps, 1);
enc.gopSize = fps; // a key frame every second: a receiver that missed one waits at most that long
enc.maxBFrames = 0; // the whip muxer refuses B-frames
const bps = BigInt(settings.bitrateKbps * 1000);
enc.bitRate = bps;
enc.rcMaxRate = bps;
enc.rcBufferSize = Math.round(settings.bitrateKbps * 500);
// The whip muxer reads profile and level for its offer's profile-level-id from the SPS in the
// extradata, which libx264 fills only with a global header; the muxer itself then puts SPS and
// PPS in front of every IDR frame, so the stream stays decodable from any key frame.
enc.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
let ret = await enc.open2(codec, Dictionary.fromObject({ preset: 'ultrafast', tune: 'zerolatency', profile: 'baseline', threads: '1' }));
if (ret < 0) {
  await finish(1, { type: 'error', stage: 'encoder', code: ret, message: `libx264 did not open: ${describe(ret)}` });
}

const fc = new FormatContext();
ret = fc.allocOutputContext2(null, 'whip', settings.url);
if (ret < 0) {
  await finish(1, { type: 'error', stage: 'muxer', code: ret, message: `no whip muxer: ${describe(ret)}` });
}
const stream = fc.newStream(null);
ret = stream.codecpar.fromContext(enc);
if (ret < 0) {
  await finish(1, { type: 'error', stage: 'muxer', code: ret, message: `codec parameters: ${describe(ret)}` });
}
stream.timeBase = enc.timeBase;

const options: Record<string, string> = { handshake_timeout: String(settings.handshakeTimeoutMs) };
if (settings.token !== null) options.authorization = settings.token;
if (settings.whipFlags !== null) options.whip_flags = settings.whipFlags;

// The header write is the whole WHIP handshake: POST, answer, ICE, DTLS, SRTP keys.
const headerStartedAt = Date.now();
report({ type: 'header-start', at: headerStartedAt });
ret = await fc.writeHeader(Dictionary.fromObject(options));
const headerDoneAt = Date.now();
if (ret < 0) {
  // Freeing the context runs the muxer's deinit, which DELETEs a resource it had been given.
  fc.freeContext();
  enc.freeContext();
  await finish(1, { type: 'error', stage: 'header', code: ret, message: `the WHIP handshake failed: ${describe(ret)}` });
}
report({ type: 'header-done', at: headerDoneAt });

const video = new SyntheticVideo(width, height);
const frame = new Frame();
frame.alloc();
frame.width = width;
frame.height = height;
frame.format = AV_PIX_FMT_YUV420P;
frame.getBuffer(0);
const packet = new Packet();
packet.alloc();
let writeFailed = false;

/** Encode frame `n` and hand its packets to the muxer; false once the muxer refused one. */
async function sendFrame(n: number): Promise<boolean> {
  const data = video.render(n);
  const sentAt = Date.now();
  writeStamp(data, width, height, { frameNumber: n, sendTimeMs: sentAt });
  frame.makeWritable();
  frame.fromBuffer(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  frame.pts = BigInt(n);
  const sent = await enc.sendFrame(frame);
  if (sent < 0) {
    report({ type: 'error', stage: 'encode', code: sent, message: `libx264: ${describe(sent)}` });
    return false;
  }
  while ((await enc.receivePacket(packet)) >= 0) {
    packet.streamIndex = stream.index;
    // The muxer set the stream's time base (the RTP clock) during the header write.
    packet.rescaleTs(enc.timeBase, stream.timeBase);
    const w = await fc.writeFrame(packet);
    packet.unref();
    if (w < 0) {
      report({ type: 'error', stage: 'write', code: w, message: `the whip muxer refused a packet: ${describe(w)}` });
      return false;
    }
  }
  report({ type: 'frame', n, sentAt });
  return true;
}

// Paced on the wall clock from the end of the handshake; a late frame is sent late, not skipped,
// so frame numbers and the encoder's pts stay one sequence.
const start = performance.now();
for (let n = 0; !stopping && !writeFailed; n++) {
  const wait = start + (n * 1000) / fps - performance.now();
  if (wait > 0) await Promise.race([new Promise((r) => setTimeout(r, wait)), stop]);
  if (stopping) break;
  if (!(await sendFrame(n))) writeFailed = true;
}
await stop;

// The trailer ends the session the WHIP way: the muxer DELETEs its resource.
const trailer = await fc.writeTrailer();
fc.freeContext();
enc.freeContext();
frame.free();
packet.free();
await finish(0, { type: 'closed', trailer, message: trailer < 0 ? describe(trailer) : null });
