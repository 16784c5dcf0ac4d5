/**
 * A free loopback port for the servers the tools and the tests start (the media benchmark's, the
 * test server): asked of the kernel by binding port 0, then released. Another process can take it
 * in between; callers that start a server on it retry on another port.
 */
import { createServer } from 'node:net';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
