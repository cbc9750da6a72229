import { subjectSchema, type VariablesDeclaration, type VariableType } from '@postline/contracts';
import type { FieldError } from '../errors.js';
import { CompiledCache } from './compiled-cache.js';
import { MAX_RENDERED_BYTES, type TemplateSource, TemplateSourceError } from './limits.js';
import { type CompiledParts, compile, type Rendered, renderParts, usedVariables } from './liquid-engine.js';

/**
 * What a template thread does (render-worker.ts runs it; render-pool.ts sends it the work):
 * parse a template being saved, or render the templated emails of one request. Plain data in and
 * out, so it crosses a thread. A problem is a 400's field errors, as the API would have written.
 */

/** A version to render from: its source, and `key` (id@version) when it is published and may be kept compiled. */
export interface VersionSource extends TemplateSource {
  key: string | null;
  variables: VariablesDeclaration;
}

export interface RenderWork {
  kind: 'render';
  versions: VersionSource[];
  /** Each templated email: its version (an index into `versions`), its variables, and its JSON pointer ('' or /emails/i). */
  emails: { version: number; variables: Record<string, unknown>; at: string }[];
  maxSubjectLength: number;
  /** The most all the emails may render to (BODY_LIMIT_BYTES). */
  requestBytes: number;
  /** Render time for all of them (REQUEST_RENDER_BUDGET_MS). */
  budgetMs: number;
}

export interface CheckWork {
  kind: 'check';
  content: TemplateSource & { variables: VariablesDeclaration };
}

export type Work = RenderWork | CheckWork;

export type WorkResult = { ok: true; rendered: { rendered: Rendered; bytes: number }[] } | { ok: false; problems: FieldError[] };

/** A thread's compiled published versions (immutable, so never stale): parsed once while they are kept. */
const cache = new CompiledCache();

export function runWork(work: Work): WorkResult {
  try {
    if (work.kind === 'check') checkSource(work.content);
    else return { ok: true, rendered: renderAll(work) };
    return { ok: true, rendered: [] };
  } catch (error) {
    if (error instanceof Problem) return { ok: false, problems: error.problems };
    throw error;
  }
}

class Problem extends Error {
  constructor(readonly problems: FieldError[]) {
    super(problems[0]?.message);
  }
}

/**
 * A template is accepted only if every part parses, reads no other file, and uses only the
 * variables it declares: a typo is a 400 now, not a failed send later.
 */
function checkSource(content: CheckWork['content']): void {
  let compiled: CompiledParts;
  try {
    compiled = compile(content);
  } catch (error) {
    if (error instanceof TemplateSourceError) throw new Problem([{ path: `/${error.part}`, message: `does not parse: ${error.message}` }]);
    throw error;
  }
  const problems = [...usedVariables(compiled)].flatMap(([part, names]) =>
    names
      .filter((n) => !Object.hasOwn(content.variables, n))
      .map((n) => ({ path: `/${part}`, message: `uses ${n}, which is not declared in variables` })),
  );
  if (problems.length > 0) throw new Problem(problems);
}

function renderAll(work: RenderWork): { rendered: Rendered; bytes: number }[] {
  const deadline = Date.now() + work.budgetMs;
  const compiled = work.versions.map((v) => {
    const chars = v.subject.length + (v.html?.length ?? 0) + (v.text?.length ?? 0);
    return v.key === null ? compile(v) : cache.get(v.key, chars, () => compile(v));
  });
  let total = 0;
  return work.emails.map(({ version, variables, at }) => {
    const out = renderVersion(work.versions[version] as VersionSource, compiled[version] as CompiledParts, variables, work, at, deadline);
    total += out.bytes;
    if (total > work.requestBytes)
      throw new Problem([{ path: `${at}/template`, message: `the request renders to more than ${work.requestBytes} bytes` }]);
    return out;
  });
}

/** Renders a version, or throws the problem that says why not (a variable, a limit, the rendered subject). */
function renderVersion(
  version: VersionSource,
  compiled: CompiledParts,
  variables: Record<string, unknown>,
  work: RenderWork,
  at: string,
  deadline: number,
): { rendered: Rendered; bytes: number } {
  const path = `${at}/template`;
  const { scope, errors } = checkVariables(version.variables, variables, `${path}/variables`);
  if (errors.length > 0) throw new Problem(errors);
  let rendered: Rendered;
  try {
    rendered = renderParts(compiled, scope, deadline);
  } catch (error) {
    throw new Problem([{ path, message: `could not be rendered: ${(error as Error).message.split('\n')[0]}` }]);
  }
  const problems: FieldError[] = [];
  const subject = subjectSchema(work).safeParse(rendered.subject);
  if (!subject.success) problems.push({ path, message: `the rendered subject ${subject.error.issues[0]?.message ?? 'is invalid'}` });
  let bytes = 0;
  for (const part of ['subject', 'html', 'text'] as const) {
    const value = rendered[part];
    const size = value === undefined ? 0 : Buffer.byteLength(value);
    if (size > MAX_RENDERED_BYTES) problems.push({ path, message: `the rendered ${part} is over ${MAX_RENDERED_BYTES} bytes` });
    bytes += size;
  }
  // An empty part is left out; an email with neither is not an email.
  if (rendered.html === '') delete rendered.html;
  if (rendered.text === '') delete rendered.text;
  if (rendered.html === undefined && rendered.text === undefined) problems.push({ path, message: 'renders an empty html and text' });
  if (problems.length > 0) throw new Problem(problems);
  return { rendered, bytes };
}

const isType: Record<VariableType, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  array: (v) => Array.isArray(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

const escapePointer = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The variables a send gives, checked against the template's declaration: every required one
 * present, each of its declared type, none undeclared. Returns the scope to render with (an
 * optional one not given is null: empty, not an error) and the problems, each naming its variable.
 */
export function checkVariables(
  declared: VariablesDeclaration,
  given: Record<string, unknown>,
  at: string,
): { scope: Record<string, unknown>; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const scope: Record<string, unknown> = Object.create(null);
  for (const [name, decl] of Object.entries(declared)) {
    const path = `${at}/${escapePointer(name)}`;
    if (!Object.hasOwn(given, name) || given[name] === undefined) {
      if (decl.required) errors.push({ path, message: `is required (a ${decl.type})` });
      else scope[name] = null;
    } else if (!isType[decl.type](given[name])) {
      errors.push({ path, message: `must be a ${decl.type}` });
    } else scope[name] = given[name];
  }
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(declared, name))
      errors.push({ path: `${at}/${escapePointer(name)}`, message: 'is not a variable of this template' });
  }
  return { scope, errors };
}
