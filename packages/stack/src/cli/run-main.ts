/**
 * Runs a CLI's main: errors the user can fix (StackError, ConfigError) print as their one
 * sentence; anything else prints its message with where to look, never a stack-trace wall.
 */
export function runMain(main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: Error) => {
      const known = error?.name === 'StackError' || error?.name === 'ConfigError';
      const message = known ? error.message : `Unexpected error: ${error?.message ?? error} (set DEBUG_STACK=1 for the stack trace).`;
      process.stderr.write(`${message}\n`);
      if (process.env.DEBUG_STACK) process.stderr.write(`${error?.stack}\n`);
      process.exit(1);
    },
  );
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once (children die with us). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.once('SIGINT', first);
    process.once('SIGTERM', first);
  });
}

export const progress = (line: string) => process.stderr.write(`[stack] ${line}\n`);
