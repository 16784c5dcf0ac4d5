/**
 * What every route needs, built once in main.ts (or a test) and handed to createApp.
 */
import type { ClusterIds } from '../cluster/session-ids.js';
import type { IceServer, MediaEngine } from '../media/engine.js';
import type { SessionManager } from '../media/session-manager.js';
import type { BackendRegistry } from '../processing/backend-registry.js';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';

export interface ServerContext {
  config: Config;
  registry: BackendRegistry;
  engine: MediaEngine;
  sessions: SessionManager;
  metrics: Metrics;
  /** Several replicas (RTC_CLUSTER_SECRET): makes ids that name this replica and reads the owner out of others'; null for a single server. */
  cluster: ClusterIds | null;
  /** ICE servers for a client (TURN credentials are per client and short-lived). */
  iceServersFor: (clientId: string) => IceServer[];
}
