/**
 * Milliseconds on a clock that only moves forward, at a steady rate (from some point at this
 * process's start): for timeouts, deadlines, gaps and ages measured within the process.
 * Date.now() is the wall clock, which NTP, chrony's `makestep` and VM hosts step and slew: on
 * the bench host it moved 6.8 s against this clock during one benchmark run of a few minutes.
 * Measured with Date.now(), a step back of an hour held the outbox relay's next round, a paced
 * relay's next send slot and the webhook endpoints' refresh for that hour (their tests).
 * Date.now() stays for times that leave the process (due times, timestamps, ids), where another
 * process or Postgres reads the same wall clock.
 */
export const monotonicMs = (): number => performance.now();
