/**
 * A client process for failure tests: connects to the server given as argv[2], streams until
 * killed, and prints one JSON line {"sessionId"} once processed frames come back.
 */
import { RtcClient } from './rtc-client.js';

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: streaming-client-main.js URL\n');
  process.exit(2);
}
const client = await RtcClient.connect(url, { width: 320, height: 240, fps: 15 });
await client.waitForFrames(3, 30000);
process.stdout.write(`${JSON.stringify({ sessionId: client.sessionId })}\n`);
// Stay alive streaming until the test kills this process.
setInterval(() => {}, 1 << 30);
