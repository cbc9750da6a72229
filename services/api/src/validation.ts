import type { FastifySchemaCompiler } from 'fastify';
import { ZodType, type z } from 'zod';
import { BadIdempotencyKeyError, type FieldError, ValidationError } from './errors.js';
import { nextTurn } from './next-turn.js';

/** A client is told this many problems at most, and how many there were in all. */
export const MAX_REPORTED_ERRORS = 20;

/** An RFC 6901 JSON pointer ('/' for the whole body). */
export const pointer = (path: readonly PropertyKey[]) =>
  path.length === 0 ? '/' : `/${path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

type Issue = z.core.$ZodIssue;

/**
 * Zod issues → RFC 6901 JSON pointers. An unknown key is reported where it is. A field that may be
 * a string or a list (`to`) reports the reading that matches what was sent, not "invalid input".
 */
function* issuesToErrors(issues: readonly Issue[], base: readonly PropertyKey[]): Generator<FieldError> {
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) yield { path: pointer([...path, key]), message: 'is not a known field' };
    } else if (issue.code === 'invalid_union') {
      const branch = issue.errors.find((b) => !(b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === 0));
      if (branch) yield* issuesToErrors(branch, path);
      else yield { path: pointer(path), message: 'must be an address string or a list of them' };
    } else {
      yield { path: pointer(path), message: issue.message };
    }
  }
}

/** A 400 naming the first MAX_REPORTED_ERRORS problems and counting the rest. */
export function validationProblem(errors: Iterable<FieldError>): Error {
  const first: FieldError[] = [];
  let total = 0;
  for (const e of errors) {
    if (total++ < MAX_REPORTED_ERRORS) first.push(e);
  }
  const more = total - first.length;
  const detail = more > 0 ? `${total} invalid fields; the first ${first.length} are listed` : `${total} invalid field(s)`;
  return Object.assign(new ValidationError(), { errors: first, detail });
}

/**
 * Validates with the route's zod schema (the same one the OpenAPI document is generated from)
 * and answers our own problem: fastify-type-provider-zod's compiler would join paths without
 * JSON-pointer escaping and list every issue of a 200,000-element body.
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  if (!(schema instanceof ZodType)) throw new Error('route schemas must be zod schemas');
  return (data: unknown) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    // The only header a route schema declares is Idempotency-Key: its own coded 400.
    if (httpPart === 'headers') return { error: new BadIdempotencyKeyError() };
    return { error: validationProblem(issuesToErrors(result.error.issues, [])) };
  };
};

/** What a compiled validator says of `data`: its value, or its 400 thrown. */
export function valid<T>(check: ReturnType<FastifySchemaCompiler<z.ZodType>>, data: unknown): T {
  const result = check(data) as { value?: T; error?: Error };
  if (result.error) throw result.error;
  return result.value as T;
}

/** The most validation work one turn of the event loop does before it lets the others run (ms). */
export const VALIDATION_TURN_MS = 5;

/**
 * `fn` over `items`, in order, letting the event loop run whenever a turn has worked
 * VALIDATION_TURN_MS. Why: 100 emails of 50 long quoted recipients (1.5 MB) took 20-50 ms to
 * validate in one piece, measured over a socket, and every other request of every key waited.
 */
export async function mapInTurns<I, O>(items: readonly I[], fn: (item: I, i: number) => O): Promise<O[]> {
  const out: O[] = [];
  let turn = performance.now();
  for (const [i, item] of items.entries()) {
    out.push(fn(item, i));
    if (performance.now() - turn >= VALIDATION_TURN_MS) {
      await nextTurn();
      turn = performance.now();
    }
  }
  return out;
}

/**
 * Validates a batch's items one by one with `schema` (mapInTurns), and answers as a parse of the
 * whole body did: every item's problems under `at(i)`, the first MAX_REPORTED_ERRORS listed and
 * all counted.
 */
export async function validateInTurns<T>(schema: z.ZodType<T>, items: readonly unknown[], at: (i: number) => PropertyKey[]): Promise<T[]> {
  const problems: { issues: readonly Issue[]; base: PropertyKey[] }[] = [];
  const values = await mapInTurns(items, (item, i) => {
    const result = schema.safeParse(item);
    if (!result.success) problems.push({ issues: result.error.issues, base: at(i) });
    return result.data as T;
  });
  if (problems.length > 0) throw validationProblem(problems.flatMap(({ issues, base }) => [...issuesToErrors(issues, base)]));
  return values;
}

/** A route's validator that leaves the body to the handler (validateInTurns) and checks the rest as usual. */
export const bodyInTurns: FastifySchemaCompiler<z.ZodType> = (route) =>
  route.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(route);
