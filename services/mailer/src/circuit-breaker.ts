import { monotonicMs } from '@postline/runtime';
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhenResult,
  type IBackoff,
  type IBackoffFactory,
  noJitterGenerator,
} from 'cockatiel';

/** How long a record waits while a half-open probe is out (the probe decides for everyone). */
const PROBE_WAIT_MS = 500;

/**
 * Stops the mailer from taking records (and burning attempts) while the SMTP server is down,
 * on cockatiel's breaker:
 * - One outage is one failure. Concurrent sends that fail together open the breaker once
 *   (cockatiel ignores failures that arrive while it is already open), so the pause does not
 *   jump to its maximum because 32 sends were in flight.
 * - Each re-open after a failed probe doubles the pause, minMs → maxMs, without jitter: the
 *   documented 0.5 s → 30 s curve. One successful probe closes it.
 * - Half-open lets exactly one send through as the probe; every other record defers briefly
 *   instead of queueing behind it.
 * `isOutage` says which outcomes count: the server unreachable, dropping us, or answering 421.
 */
export class SmtpBreaker<R> {
  private policy: CircuitBreakerPolicy;
  private readonly curve: IBackoffFactory<unknown>;
  /** When the current pause ends, on `now` (cockatiel times its own on the wall clock). */
  private openUntil = 0;
  private rehydrating = false;

  /** `now`: the clock pauses are measured on (monotonic; a test's mock clock). */
  constructor(
    private readonly isOutage: (result: R) => boolean,
    minMs: number,
    maxMs: number,
    private readonly now: () => number = monotonicMs,
  ) {
    this.curve = new ExponentialBackoff({ initialDelay: minMs, maxDelay: maxMs, generator: noJitterGenerator });
    this.policy = this.build();
  }

  private build(initialState?: unknown): CircuitBreakerPolicy {
    return circuitBreaker(
      handleWhenResult((r) => this.isOutage(r as R)),
      {
        halfOpenAfter: recording(this.curve, (ms) => {
          // Rebuilding walks the curve up to where it was: not a new pause.
          if (!this.rehydrating) this.openUntil = this.now() + ms;
        }),
        breaker: new ConsecutiveBreaker(1),
        ...(initialState === undefined ? {} : { initialState }),
      },
    );
  }

  /**
   * The pause is over by our clock while cockatiel, which times it on the wall clock, may still
   * count it: after a step back of that clock (NTP, a resumed VM) it would stay open for the step
   * too. The policy is rebuilt from its own state (toJSON, as cockatiel serialises a half-open
   * one: opened at 0), so the next send is the probe and a failed one still doubles the pause.
   */
  private pauseOver(): void {
    const { ownState, breakerState } = this.policy.toJSON() as { ownState: Record<string, unknown>; breakerState: unknown };
    this.rehydrating = true;
    try {
      this.policy = this.build({ ownState: { ...ownState, openedAt: 0 }, breakerState });
    } finally {
      this.rehydrating = false;
    }
  }

  /**
   * Milliseconds a record should wait before trying (0: go ahead). Once the pause is over the
   * breaker still says "open" until a send goes through execute() and becomes the probe, so
   * that is 0 here: someone must try.
   */
  get waitMs(): number {
    const state = this.policy.state;
    if (state === CircuitState.HalfOpen) return PROBE_WAIT_MS;
    if (state === CircuitState.Open) return Math.max(0, this.openUntil - this.now());
    return 0;
  }

  get state(): 'closed' | 'open' | 'half-open' {
    const state = this.policy.state;
    return state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half-open' : 'open';
  }

  /**
   * Runs `send` through the breaker. `{ wait }` instead of a result: the breaker is open (or a
   * probe is out), and the record should come back in `wait` ms.
   */
  async execute<T extends R>(send: () => Promise<T>): Promise<{ result: T } | { wait: number }> {
    if (this.policy.state === CircuitState.HalfOpen) return { wait: PROBE_WAIT_MS };
    if (this.policy.state === CircuitState.Open && this.openUntil <= this.now()) this.pauseOver();
    try {
      return { result: (await this.policy.execute(send)) as T };
    } catch (error) {
      if (error instanceof BrokenCircuitError) return { wait: Math.max(this.waitMs, 1) };
      throw error;
    }
  }
}

/** The backoff `factory`, reporting each pause it hands to cockatiel (its open state is private). */
function recording<T>(factory: IBackoffFactory<T>, onPause: (ms: number) => void): IBackoffFactory<T> {
  const wrap = (backoff: IBackoff<T>): IBackoff<T> => {
    onPause(backoff.duration);
    return { duration: backoff.duration, next: (context: T) => wrap(backoff.next(context)) };
  };
  return { next: (context: T) => wrap(factory.next(context)) };
}
