/**
 * Entry point of `npm start`: read the configuration, start the backends and the HTTP server,
 * drain on SIGTERM, exit.
 */
import { pino } from 'pino';
import { BackendUnavailableError } from '../processing/backend-registry.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startServer } from './server.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`rtc-scale: invalid configuration: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

/** Seconds past the drain timeout after which a shutdown that has not finished exits anyway. */
const EXIT_GRACE_S = 10;

const log = pino({ level: config.logLevel });
try {
  const server = await startServer(config, log);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    // Whatever might still hang (a native close), the process is gone a while after the drain.
    if (signals === 1) {
      setTimeout(() => {
        log.error('shutdown did not finish in time; exiting');
        process.exit(1);
      }, (config.drainTimeoutS + EXIT_GRACE_S) * 1000).unref();
    }
    // A second signal skips the drain: the operator wants out now.
    void server.shutdown({ drain: signals === 1, signal }).then(() => {
      // @roamhq/wrtc segfaults at normal exit once an RTCVideoSource existed: exit explicitly.
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
} catch (err) {
  if (err instanceof BackendUnavailableError) {
    log.fatal(`cannot start: ${err.message} (RTC_BACKEND=${config.backend}); use RTC_BACKEND=auto to fall back to CPU`);
  } else {
    log.fatal({ err }, 'cannot start');
  }
  process.exit(1);
}
