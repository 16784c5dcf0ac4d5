/**
 * Keeps this pod's `controller.kubernetes.io/pod-deletion-cost` annotation equal to its live
 * session count, so that when the HorizontalPodAutoscaler shrinks the Deployment the ReplicaSet
 * controller deletes the emptiest pods first. The server patches its own pod through the
 * Kubernetes API with its service-account token; the Role in k8s/base allows only get/patch on pods.
 *
 * Session counts can change many times a second under load, so updates are coalesced: at most
 * one request is in flight, and when it returns only the newest value is sent next. Failures are
 * logged and retried a bounded number of times with backoff; nothing is ever thrown to the caller,
 * since a missing annotation only makes scale-down choose less well.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Which pod this is and where its API server is: POD_NAME and POD_NAMESPACE from the downward API, KUBERNETES_SERVICE_HOST/PORT from Kubernetes. */
export interface PodIdentity {
  podName: string;
  namespace: string;
  /** e.g. https://10.0.0.1:443 */
  apiBase: string;
}

/** pino-compatible subset: the server passes its fastify logger. */
export interface UpdaterLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PodDeletionCostOptions {
  podName: string;
  namespace: string;
  /** e.g. https://10.0.0.1:443; http:// is accepted for tests. */
  apiBase: string;
  /** Bearer token. When absent, tokenFile is read before every request (kubelet rotates it). */
  token?: string;
  tokenFile?: string;
  /** PEM CA bundle for the API server's certificate. */
  ca?: string | Buffer;
  logger?: UpdaterLogger;
  /** Retries of one value after the first try fails (default 5). */
  maxRetries?: number;
  /** First backoff delay; doubles per retry up to maxBackoffMs (defaults 250 / 8000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per-request timeout (default 5000). */
  requestTimeoutMs?: number;
}

/** The API server refused or failed a PATCH; `retryable` says whether trying again can help. */
export class PodPatchError extends Error {
  constructor(message: string, readonly status: number | undefined, readonly retryable: boolean) {
    super(message);
    this.name = 'PodPatchError';
  }
}

const consoleLogger: UpdaterLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  debug: () => {},
};

/** The deletion cost is an int32 on the API side. */
function toCost(sessions: number): number {
  if (!Number.isFinite(sessions)) return 0;
  return Math.max(-2147483648, Math.min(2147483647, Math.round(sessions)));
}

export class PodDeletionCostUpdater {
  private readonly url: URL;
  private readonly opts: PodDeletionCostOptions;
  private readonly log: UpdaterLogger;
  private desired: number | undefined;
  private applied: number | undefined;
  /** A value dropped after its retries ran out: not retried until set() is called again. */
  private lastGaveUp: number | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private wakeBackoff: (() => void) | undefined;
  private requests = 0;

  constructor(opts: PodDeletionCostOptions) {
    this.opts = opts;
    this.log = opts.logger ?? consoleLogger;
    const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(opts.podName)}`;
    this.url = new URL(path, opts.apiBase);
  }

  /** An updater for the pod this process runs in (identity from config.ts), with the service account's token and CA. */
  static forPod(pod: PodIdentity, logger?: UpdaterLogger): PodDeletionCostUpdater {
    let ca: Buffer | undefined;
    try {
      ca = fs.readFileSync(`${SA_DIR}/ca.crt`);
    } catch {
      ca = undefined; // the request then fails TLS verification and is logged
    }
    return new PodDeletionCostUpdater({
      podName: pod.podName,
      namespace: pod.namespace,
      apiBase: pod.apiBase,
      tokenFile: `${SA_DIR}/token`,
      ...(ca ? { ca } : {}),
      ...(logger ? { logger } : {}),
    });
  }

  /** Record the live session count; the annotation follows asynchronously. Never throws. */
  set(sessions: number): void {
    if (this.closed) return;
    this.desired = toCost(sessions);
    if (this.running === undefined) {
      this.running = this.pump()
        .catch((err: unknown) => this.log.warn({ err }, 'pod-deletion-cost: updater stopped on an unexpected error'))
        .finally(() => {
          this.running = undefined;
          // A set() during the last await of pump() may have found it still running.
          if (!this.closed && this.desired !== this.applied && this.lastGaveUp !== this.desired) this.set(this.desired ?? 0);
        });
    }
  }

  /** Resolves when no request is in flight and nothing is pending (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Number of PATCH requests sent so far (for tests and debug logs). */
  get requestCount(): number {
    return this.requests;
  }

  /** The last value the API server accepted. */
  get appliedValue(): number | undefined {
    return this.applied;
  }

  /** Stop: no new requests, pending backoff cut short, waits for the request in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.wakeBackoff?.();
    await this.idle();
  }

  private async pump(): Promise<void> {
    let attempt = 0;
    while (!this.closed && this.desired !== undefined && this.desired !== this.applied) {
      const value = this.desired;
      try {
        await this.patch(value);
        this.applied = value;
        this.lastGaveUp = undefined;
        attempt = 0;
        this.log.debug({ cost: value }, 'pod-deletion-cost: annotation updated');
      } catch (err) {
        const retryable = !(err instanceof PodPatchError) || err.retryable;
        attempt += 1;
        const max = this.opts.maxRetries ?? 5;
        if (!retryable || attempt > max) {
          this.lastGaveUp = value;
          this.log.warn({ err, cost: value, attempts: attempt }, 'pod-deletion-cost: giving up on this value until the session count changes');
          return;
        }
        const base = this.opts.backoffMs ?? 250;
        const delay = Math.min(this.opts.maxBackoffMs ?? 8000, base * 2 ** (attempt - 1));
        this.log.debug({ err, cost: value, attempt, delayMs: delay }, 'pod-deletion-cost: retrying');
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeBackoff = undefined;
        resolve();
      };
      // Not unref()ed: close() clears it, and a pending retry should keep a short script alive.
      const timer = setTimeout(done, ms);
      this.wakeBackoff = done;
    });
  }

  private token(): string | undefined {
    if (this.opts.token !== undefined) return this.opts.token;
    if (this.opts.tokenFile === undefined) return undefined;
    return fs.readFileSync(this.opts.tokenFile, 'utf8').trim();
  }

  private patch(value: number): Promise<void> {
    const body = JSON.stringify({ metadata: { annotations: { [DELETION_COST_ANNOTATION]: String(value) } } });
    const headers: Record<string, string | number> = {
      'content-type': 'application/merge-patch+json',
      accept: 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    let token: string | undefined;
    try {
      token = this.token();
    } catch (err) {
      return Promise.reject(new PodPatchError(`cannot read the service-account token: ${(err as Error).message}`, undefined, true));
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const isHttps = this.url.protocol === 'https:';
    const requestFn = isHttps ? https.request : http.request;
    this.requests += 1;
    return new Promise<void>((resolve, reject) => {
      const req = requestFn(this.url, {
        method: 'PATCH',
        headers,
        timeout: this.opts.requestTimeoutMs ?? 5000,
        ...(isHttps && this.opts.ca ? { ca: this.opts.ca } : {}),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => { if (chunks.length < 16) chunks.push(c); });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 500);
          // 409 cannot happen for a merge patch without resourceVersion; 429 and 5xx are transient.
          const retryable = status === 429 || status >= 500;
          reject(new PodPatchError(`PATCH ${this.url.pathname} answered ${status}: ${text}`, status, retryable));
        });
        res.on('error', (err) => reject(new PodPatchError(err.message, res.statusCode, true)));
      });
      req.on('timeout', () => req.destroy(new PodPatchError('request timed out', undefined, true)));
      req.on('error', (err) => reject(err instanceof PodPatchError ? err : new PodPatchError(err.message, undefined, true)));
      req.end(body);
    });
  }
}
