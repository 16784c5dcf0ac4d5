/**
 * Bounds expensive work: at most `concurrency` calls run at once, at most `queue` more wait,
 * and a call beyond that fails at once with LimiterFullError (the route answers 503).
 */

/** The limiter's queue is full. */
export class LimiterFullError extends Error {
  constructor(readonly concurrency: number, readonly queue: number) {
    super(`busy: ${concurrency} requests running and ${queue} waiting`);
    this.name = 'LimiterFullError';
  }
}

/** A counting semaphore with a bounded wait queue. */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly concurrency: number, private readonly queue: number) {}

  /** Calls running now. */
  get active(): number {
    return this.running;
  }

  /** Calls waiting now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Whether a call made now would be refused (every place taken and the queue full). */
  get full(): boolean {
    return this.running >= this.concurrency && this.waiting.length >= this.queue;
  }

  /** Run `fn` when a place is free; throw LimiterFullError when the queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) throw new LimiterFullError(this.concurrency, this.queue);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      // Hand the place straight to the next waiter, so `running` never dips below the truth.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
