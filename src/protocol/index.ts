/**
 * The protocol shared by the server, the web page and the load generator: names, error codes,
 * session info, HTTP bodies, data channel messages, Retry-After and the percentile definition.
 * Runtime-neutral on purpose: it imports nothing of server/, media/, processing/, web/ or
 * loadgen/ and uses no Node-only or DOM-only API, so both the Node build and the web bundle take
 * it as it is (test/unit/protocol/runtime-neutrality.test.ts checks both). docs/protocol.md describes it for users.
 *
 * Frame stamps are not here, and there are two of them, for these reasons. A stamp is not a
 * message between two parties: the server never reads one, and each client reads only the stamps
 * it wrote itself, so two codecs cannot drift apart in a way that breaks anything. And the two
 * clients sit on different pixel paths that want different codes:
 * - the load generator (src/loadgen/stamp.ts) writes raw I420 into libwebrtc and reads raw
 *   decoded I420 back, so it can write exact luma levels and afford a 96-bit code (32-bit frame
 *   number for loss counting over hours, 32-bit send time so no per-frame table is kept across
 *   worker processes, CRC-32 so a wrong decode is never counted) read from a 4.5-cell band
 *   with a per-cell texture measure that survives every filter and libwebrtc's down-scaling;
 * - the web page (src/web/frame-stamp.ts) can only draw RGB on a canvas that the browser
 *   converts and scales on its own terms, and reads the processed frame back on the main thread
 *   at presentation time through drawImage + getImageData, where every row read is a GPU
 *   readback. Its code therefore lives in a few pixel rows: a 16-bit NRZI strip (12-bit counter,
 *   4-bit check) read from 4 rows, with the send time kept in a table in the page, which is both
 *   sender and receiver.
 */
export * from './errors.js';
export * from './http.js';
export * from './messages.js';
export * from './names.js';
export * from './percentile.js';
export * from './retry-after.js';
export * from './session-info.js';
export * from './sdpfrag.js';
