/**
 * @roamhq/wrtc segfaults during normal process teardown once an RTCVideoSource was created.
 * Importing this module makes the process leave through process.exit() when the event loop
 * empties, after node:test has written its results, which skips the crashing teardown.
 */
let armed = false;

/** Arm the explicit exit (idempotent). */
export function exitExplicitlyWhenIdle(): void {
  if (armed) return;
  armed = true;
  process.on('beforeExit', () => {
    // Let the test runner's own beforeExit work (final reports) run first.
    setTimeout(() => process.exit(process.exitCode ?? 0), 50);
  });
}

exitExplicitlyWhenIdle();
