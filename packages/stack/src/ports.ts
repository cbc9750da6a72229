import { createServer } from 'node:net';
import { StackError } from './stack-error.js';

/** Asks the OS for a free loopback port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
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
