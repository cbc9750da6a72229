import { type DestinationStream, pino } from 'pino';
import { Counter, collectDefaultMetrics, type Registry } from 'prom-client';
import { monotonicMs } from './monotonic-clock.js';

/**
 * How many bytes of log lines a service holds while its stdout is not read. pino's default stdout
 * writes asynchronously and buffers without limit, so a log reader that stalls (a container
 * runtime's blocking log driver, a full disk behind it, a `| less` left open) grew the API's heap
 * until it died of it: 25 s under load with the API's 128 MB cap (measured 2026-12-03). Past this
 * bound a line is dropped and counted instead; 8 MiB is seconds of lines at full load.
 */
export const STDOUT_BUFFER_BYTES = 8 * 2 ** 20;

let dropped = 0;

/** Log lines dropped so far because stdout was not read (for the services' metrics). */
export const droppedLogLines = (): number => dropped;

/** How long after a drop the service says so (itself a log line, dropped and retried while stdout is stalled). */
const DROP_WARNING_DELAY_MS = 10_000;

/**
 * The services' stdout as pino writes to it: asynchronous as pino's own default (a line never
 * waits for the reader), flushed at exit, and bounded. `warn(droppedLines)` is called once the
 * drops of the last DROP_WARNING_DELAY_MS can be told, with how many there were.
 */
export function stdoutDestination(warn: (droppedLines: number) => void): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, maxLength: STDOUT_BUFFER_BYTES });
  let unreported = 0;
  let timer: NodeJS.Timeout | null = null;
  let lastDropAt = Number.NEGATIVE_INFINITY;
  // pino flushes stdout synchronously at exit, and a write to a reader that takes nothing never
  // returns: the process would finish its shutdown and then hang until SIGKILL. While lines are
  // being dropped, the held ones are given up instead (prepended: before pino's own exit handler).
  process.prependListener('exit', () => {
    if (monotonicMs() - lastDropAt < DROP_WARNING_DELAY_MS) destination.destroy();
  });
  destination.on('drop', () => {
    lastDropAt = monotonicMs();
    dropped++;
    unreported++;
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      const lines = unreported;
      unreported = 0;
      warn(lines);
    }, DROP_WARNING_DELAY_MS).unref();
  });
  return destination;
}

/**
 * What every service process reports under its prefix: prom-client's process and V8 metrics, and
 * `<prefix>log_lines_dropped_total`, the lines its stdout's reader never took.
 */
export function collectProcessMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  let reported = 0;
  new Counter({
    name: `${prefix}log_lines_dropped_total`,
    help: `Log lines dropped because stdout was not read fast enough (${STDOUT_BUFFER_BYTES / 2 ** 20} MiB of lines are held)`,
    registers: [registry],
    collect() {
      this.inc(dropped - reported);
      reported = dropped;
    },
  });
}
