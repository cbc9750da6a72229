import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { codedProblem } from './problem-schema.js';

/** What Node reports before a request reaches fastify, as the problem it answers. */
function problemFor(code: string | undefined): { status: number; code: string; title: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, code: 'EMAIL_ERR_REQUEST_TIMEOUT', title: 'The request did not arrive in time; the connection is closed' };
  if (code === 'HPE_HEADER_OVERFLOW')
    return { status: 431, code: 'EMAIL_ERR_HEADERS_TOO_LARGE', title: 'The request headers are too large' };
  return { status: 400, code: 'EMAIL_ERR_BAD_HTTP', title: 'The request is not valid HTTP/1.1' };
}

/**
 * fastify's `clientErrorHandler`: a request Node refused or gave up on (malformed, headers too
 * large, not arrived within REQUEST_TIMEOUT_MS) is answered application/problem+json like every
 * other error, counted, and its connection closed. fastify's own answer was plain JSON.
 */
export function answerClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem = problemFor(error.code);
  this.log.debug({ code: problem.code, reason: error.code }, 'client error');
  this.metrics?.rejected.inc({ code: problem.code });
  const body = JSON.stringify(codedProblem(problem.code, problem.title, problem.status));
  // Not in the middle of (or after) an answer on this connection: that would corrupt it.
  const answering = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage?.headersSent;
  if (socket.writable && !answering) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nConnection: close\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
