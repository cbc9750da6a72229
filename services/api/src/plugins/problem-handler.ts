import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import { type FieldError, NotFoundError, retryHint, unlessClientAborted } from '../errors.js';
import { codedProblem, type problemSchema } from '../problem-schema.js';

/** Fastify's own errors that are the client's fault, mapped to a clear problem. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; title: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, title: 'Unsupported media type: send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, title: 'Invalid Content-Length' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, title: 'The request body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, title: 'The request body is not valid JSON' },
};

type CodedError = FastifyError & { errors?: FieldError[]; detail?: string; state?: string };

/** The body of every error answer: the same schema the OpenAPI document shows. */
type Problem = z.output<typeof problemSchema>;

/**
 * One error handler for the whole API: every error is application/problem+json (RFC 9457).
 * 4xx explain themselves; 5xx other than our own coded 503s hide their cause (it is logged).
 */
export const problemHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((thrown: CodedError, request, reply) => {
      const error: CodedError = unlessClientAborted(thrown, request);
      let problem: Problem;
      const known = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined;
      if (known) {
        problem = codedProblem(error.code, known.title, known.status);
      } else if (error instanceof SyntaxError || (error.statusCode === 400 && !error.code?.startsWith('EMAIL_ERR_'))) {
        problem = codedProblem('FST_ERR_CTP_INVALID_JSON_BODY', 'The request body is not valid JSON', 400);
      } else if (error.code?.startsWith('EMAIL_ERR_') && error.statusCode) {
        problem = codedProblem(error.code, error.message, error.statusCode);
        if (error.detail) problem.detail = error.detail;
        if (error.errors) problem.errors = error.errors;
        if (error.state) problem.state = error.state;
      } else {
        request.log.error({ err: error }, 'unhandled error');
        problem = {
          type: 'about:blank',
          title: 'Internal Server Error',
          status: 500,
          code: 'EMAIL_ERR_INTERNAL',
          detail: 'The server could not complete the request.',
        };
      }
      // A dependency's outage fails every request alike: the first line says why (the error's
      // cause), then one a code per 10 s; each request's own is its access line.
      if (problem.status >= 500 && problem.code !== 'EMAIL_ERR_INTERNAL')
        app.recurring.warn(request.log, { err: error, code: problem.code }, 'request failed', `request failed ${problem.code}`);
      app.metrics.rejected.inc({ code: problem.code });
      retryHint(error, reply);
      reply.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
    });

    app.setNotFoundHandler(async (request) => {
      throw Object.assign(new NotFoundError(), { detail: `No route ${request.method} ${request.url.split('?')[0]}` });
    });
  },
  { name: 'problem-handler', dependencies: ['metrics'] },
);
