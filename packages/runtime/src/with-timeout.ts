/**
 * Rejects if `promise` has not settled within `ms`. The operation itself is not cancelled
 * (kafkajs sends cannot be); callers use this to bound how long *they* wait.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, error?: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // `error`: for a caller that must tell its own deadline from the promise's failures.
    timer = setTimeout(() => reject(error ? error() : new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
