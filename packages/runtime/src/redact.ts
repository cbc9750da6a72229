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

/** Properties of an error that are plain data worth logging; any other object-valued one is dropped. */
const NESTED_KEPT = new Set(['cause', 'errors', 'aggregateErrors']);

/**
 * pino's error serializer, minus every object-valued property other than causes: libraries hang
 * clients, sockets and connections on their errors (a `pg` client is 3-8 KB with the host, user,
 * backend pid and cancel key). Primitive properties (code, errno, syscall…) are kept.
 */
export function errSerializer(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const out = stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(out)) {
    if (value !== null && typeof value === 'object' && !NESTED_KEPT.has(key)) delete out[key];
  }
  for (const key of ['errors', 'aggregateErrors']) {
    if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).slice(0, 10).map(errSerializer);
  }
  return out;
}
