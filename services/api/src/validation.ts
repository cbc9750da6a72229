import type { z } from 'zod';
import { BadIdempotencyKeyError, type FieldError, ValidationError } from './errors.js';

/** Zod issues → RFC 6901 JSON pointers into the body, every bad field listed. */
export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  const pointer = (path: PropertyKey[]) =>
    `${prefix}/${path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`.replace(/\/$/, '') || '/';
  return error.issues.flatMap((issue) =>
    // An unknown key is reported where it is, one entry per key, so a client sees which one.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: pointer([...issue.path, key]), message: 'is not a known field' }))
      : [{ path: pointer(issue.path), message: issue.message }],
  );
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = fieldErrors(result.error);
    throw Object.assign(new ValidationError(), { errors, detail: `${errors.length} invalid field(s)` });
  }
  return result.data;
}

/** 1-255 printable ASCII characters, or absent. */
export function idempotencyKeyOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw) || !/^[\x20-\x7e]{1,255}$/.test(raw)) throw new BadIdempotencyKeyError();
  return raw;
}
