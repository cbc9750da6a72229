import { stdSerializers } from 'pino';

/**
 * A URL with its password replaced, found by parsing the URL (a regex on `//…@` leaks the part of
 * a password after an `@` in it). Unparseable input is not echoed at all.
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable URL]';
  }
}

export const REDACTED = '[redacted]';

/** Keys censored in any object logged as a field (`{ smtp: { pass } }`, `{ email: { html } }`). */
const NESTED_SECRET_KEYS = ['password', 'pass', 'secret', 'text', 'html', 'attachments'];

/** The fields whose serializer builds what is logged: an error's censors itself, fastify's req/res have fixed shapes. */
const SERIALIZED = new Set(['err', 'error', 'req', 'res']);

/**
 * A log line's fields (or a child's bindings) with NESTED_SECRET_KEYS censored one level down, as
 * pino's `*.key` redaction did. The caller's objects are never changed: a field with a secret is
 * copied, and the line gets a copy of the fields; a line without one (nearly all) allocates nothing.
 */
export function censorNested(fields: Record<string, unknown>): Record<string, unknown> {
  let out = fields;
  for (const key in fields) {
    const value = fields[key];
    if (value === null || typeof value !== 'object' || Array.isArray(value) || SERIALIZED.has(key)) continue;
    const censored = censorKeys(value as Record<string, unknown>);
    if (censored === value) continue;
    if (out === fields) out = { ...fields };
    out[key] = censored;
  }
  return out;
}

function censorKeys(value: Record<string, unknown>): Record<string, unknown> {
  let out = value;
  for (const key of NESTED_SECRET_KEYS) {
    if (!Object.hasOwn(value, key)) continue;
    if (out === value) out = { ...value };
    out[key] = REDACTED;
  }
  return out;
}

/**
 * An HTTP request as its access line shows it: fastify's fields, built from the request rather
 * than copied from it, so no header but `accept-version` (and never a credential) can be logged.
 * The paths `req.headers.authorization` and `req.headers.cookie` had pino clone and serialize
 * every access line's `req` to censor headers that fastify's serializer never emits: 0.6 us and
 * 1.6 KB of garbage a request (#17).
 */
export function reqSerializer(req: {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}): unknown {
  if (req === null || typeof req !== 'object') return req;
  return {
    method: req.method,
    url: req.url,
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** Properties of an error that are plain data worth logging; any other object-valued one is dropped. */
const NESTED_KEPT = new Set(['cause', 'errors', 'aggregateErrors']);

/**
 * pino's error serializer, minus every object-valued property other than causes: libraries hang
 * clients, sockets and connections on their errors (a `pg` client is 3-8 KB with the host, user,
 * backend pid and cancel key). Primitive properties (code, errno, syscall…) are kept.
 */
export function errSerializer(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(serialized)) {
    if (value !== null && typeof value === 'object' && !NESTED_KEPT.has(key)) delete serialized[key];
  }
  // The error's own secret properties, as any logged object's one level down.
  const out = censorKeys(serialized);
  for (const key of ['errors', 'aggregateErrors']) {
    if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).slice(0, 10).map(errSerializer);
  }
  return out;
}
