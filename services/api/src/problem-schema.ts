import { z } from 'zod';
import { BODY_IDLE_MS, REQUEST_TIMEOUT_MS } from './body-watch.js';

export const problemSchema = z.object({
  type: z.string().describe('urn:postline:problem:<code>'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string().describe('Stable error code, e.g. EMAIL_ERR_VALIDATION'),
  errors: z
    .array(z.object({ path: z.string().describe('JSON pointer (RFC 6901) into the request'), message: z.string() }))
    .max(20)
    .optional()
    .describe('The first 20 problems; `detail` says how many there were'),
  state: z.string().optional().describe("On a 409 from cancel or reschedule: the email's current state"),
});

/** A coded error as its problem: the code is also the `type`'s last part (errors.ts). */
export const codedProblem = (code: string, title: string, status: number): z.output<typeof problemSchema> => ({
  type: `urn:postline:problem:${code}`,
  title,
  status,
  code,
});

export const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });

/** The 429 any authenticated route may give before it looks at the key (auth-failures.ts). */
export const AUTH_THROTTLED =
  'or this address sent more than AUTH_FAILURES_PER_MINUTE wrong keys and no key of it is checked until its next try is due (EMAIL_ERR_AUTH_THROTTLED)';

/** The error answers every authenticated route may give. */
export const commonErrors = {
  401: problem('Missing or wrong API key'),
  408: problem(
    `The request did not arrive in time: a body that sent nothing for ${BODY_IDLE_MS / 1000} s (EMAIL_ERR_BODY_TIMEOUT), or a request not whole within ${REQUEST_TIMEOUT_MS / 1000} s (EMAIL_ERR_REQUEST_TIMEOUT); the connection is closed`,
  ),
  429: problem(
    `The API key has made its REQUEST_RATE_LIMIT_PER_MINUTE requests this minute (EMAIL_ERR_RATE_LIMITED), ${AUTH_THROTTLED}: retry after Retry-After`,
  ),
  503: problem(
    'Starting, shutting down, a dependency (Kafka, Postgres) unavailable, or too many request bodies held at once (EMAIL_ERR_BUSY): retry',
  ),
};
