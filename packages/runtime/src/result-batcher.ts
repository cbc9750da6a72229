import { type BatcherOptions, MicroBatcher } from './micro-batcher.js';

interface Slot<T, R> {
  request: T;
  result?: R;
  error?: unknown;
}

/**
 * A MicroBatcher whose requests each get their own answer: concurrent `run()` calls share one
 * `many()` call (a statement for many emails, a look-up for many requests), which answers them in
 * order. If the shared call fails, or `shareable` says the requests must not go together, each
 * runs alone: one request's data never fails the others (during an outage they all fail again,
 * fast).
 */
export class ResultBatcher<T, R> {
  private readonly batcher: MicroBatcher<Slot<T, R>>;

  constructor(
    private readonly many: (requests: T[]) => Promise<R[]>,
    options: Omit<BatcherOptions, 'bytes'>,
    private readonly shareable: (requests: T[]) => boolean = () => true,
  ) {
    this.batcher = new MicroBatcher<Slot<T, R>>((slots) => this.settle(slots), options);
  }

  async run(request: T): Promise<R> {
    const slot: Slot<T, R> = { request };
    await this.batcher.enqueue([slot]);
    if ('error' in slot) throw slot.error;
    return slot.result as R;
  }

  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async settle(slots: Slot<T, R>[]): Promise<void> {
    const requests = slots.map((s) => s.request);
    if (slots.length === 1 || this.shareable(requests)) {
      try {
        const results = await this.many(requests);
        slots.forEach((s, i) => {
          s.result = results[i];
        });
        return;
      } catch (error) {
        if (slots.length === 1) {
          (slots[0] as Slot<T, R>).error = error;
          return;
        }
      }
    }
    await Promise.all(
      slots.map(async (s) => {
        try {
          [s.result] = await this.many([s.request]);
        } catch (error) {
          s.error = error;
        }
      }),
    );
  }
}
