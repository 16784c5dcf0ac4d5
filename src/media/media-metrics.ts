/**
 * What the media layer records, declared here so that media/ does not import the server's
 * prom-client class (dependencies point down: server → media). The server's Metrics satisfies it.
 */

type Labels<L extends string> = Partial<Record<L, string>>;

/** A counter, optionally labelled (prom-client's shape). */
export interface CounterLike<L extends string = never> {
  inc(labels: Labels<L>, value?: number): void;
  inc(value?: number): void;
}

/** A histogram fed in seconds. */
export interface HistogramLike<L extends string = never> {
  observe(labels: Labels<L>, value: number): void;
  observe(value: number): void;
}

/** A gauge. */
export interface GaugeLike<L extends string = never> {
  set(labels: Labels<L>, value: number): void;
  set(value: number): void;
  reset(): void;
}

/** The metrics the session layer writes. */
export interface MediaMetrics {
  framesReceived: CounterLike;
  framesSent: CounterLike<'backend'>;
  framesDropped: CounterLike<'reason'>;
  frameQueueWaitSeconds: HistogramLike;
  frameProcessingSeconds: HistogramLike<'backend' | 'filter'>;
  frameServerLatencySeconds: HistogramLike<'backend'>;
  sessionsActive: GaugeLike;
  sessionsMax: GaugeLike;
  sessionsStarted: CounterLike;
  sessionsRejected: CounterLike<'reason'>;
  sessionsClosed: CounterLike<'reason'>;
  capacityUtilization: GaugeLike;
  sessionsByCodec: GaugeLike<'engine' | 'codec' | 'encoder'>;
  /** Faces covered (anonymize) or drawn (faces) per frame. */
  facesPerFrame: HistogramLike<'filter'>;
  /** Frames the anonymize filter covered whole because no detection was fresh enough. */
  faceFramesCoveredWhole: CounterLike;
}
