import { createServer } from 'node:net';
import { StackError } from './stack-error.js';

/**
 * A free loopback port for a process we start, from 20000–28999: below the OS's ephemeral range
 * (32768–60999 on Linux). A port the OS hands out for listen(0) is one it may hand again to any
 * outgoing connection (a Kafka client's) between our check and the child's bind; with test files
 * running side by side that happened, an API died with EADDRINUSE, and another file's server
 * answered its requests. Random, so two files asking at once do not collide.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 9_000);
    if (await bindable(port)) return port;
  }
  throw new Error('no free port in 20000–28999');
}

function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Fails with a sentence naming the port and the likely culprit, instead of a bind error deep in a JVM log. */
export async function assertPortFree(port: number, what: string, hint: string): Promise<void> {
  const server = createServer();
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    server.once('error', resolve);
    server.listen(port, '127.0.0.1', () => resolve(null));
  });
  if (error === null) {
    await new Promise((resolve) => server.close(resolve));
    return;
  }
  if (error.code === 'EADDRINUSE') {
    throw new StackError(`Port ${port} (${what}) is already in use; ${hint}.`);
  }
  throw error;
}
