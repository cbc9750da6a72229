import { setImmediate } from 'node:timers/promises';

/**
 * Text of this many characters or more is large: its body's parse (json-shape.ts) and its
 * envelope's JSON (accept.ts) each get a turn of their own.
 */
export const LARGE_TEXT_CHARS = 256 * 1024;

/**
 * Lets the event loop run timers and other sockets' I/O before the caller goes on: what splitting a
 * large request's work into turns is for. One setImmediate is not enough where that work starts, in
 * an I/O callback (the request body's end): it runs in the same loop iteration's check phase, before
 * any timer and before libuv polls for I/O again, so to everything else the two turns are one block.
 * Measured with a 1 ms interval timer: two 30 ms halves of a socket's data callback split by one
 * setImmediate held it 61.7 ms, split by two 31.3 ms. The second always lands after the next poll,
 * whichever phase the first ran in; from any other phase it costs one more iteration, a few µs.
 */
export async function nextTurn(): Promise<void> {
  await setImmediate();
  await setImmediate();
}
