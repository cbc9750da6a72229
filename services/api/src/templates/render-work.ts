import type { VariablesDeclaration, VariableType } from '@postline/contracts';
import type { FieldError } from '../errors.js';
import { CompiledCache } from './compiled-cache.js';
import { MAX_RENDERED_BYTES, type TemplateSource, TemplateSourceError } from './limits.js';
import { type CompiledParts, compile, type Rendered, renderParts, usedVariables } from './liquid-engine.js';

/**
 * What a template thread does (render-worker.ts runs it; render-pool.ts sends it the work):
 * parse a template being saved, or render the templated emails of one request. Plain data in and
 * out, so it crosses a thread. A problem is a 400's field errors, as the API would have written.
 * The rendered subject is checked by the API (render.ts), with the request schema's own rule:
 * zod would add 9 MB to each thread's resident memory for that one check.
 */

/** A version to render from: its source, and `key` (id@version) when it is published and may be kept compiled. */
export interface VersionSource extends TemplateSource {
  key: string | null;
  variables: VariablesDeclaration;
}

/** A templated email: its version (an index into `versions`), its variables, and its JSON pointer ('' or /emails/i). */
export interface EmailToRender {
  version: number;
  variables: Record<string, unknown>;
  at: string;
}

export interface RenderWork {
  kind: 'render';
  versions: VersionSource[];
  /**
   * The templated emails (EmailToRender[]) as JSON text, which crosses to the thread as one
   * string. Why not the objects: posting them clones them on the API's event loop, 17-40 ms for
   * variables of 50,000 empty objects (the most a body may hold), where writing their JSON took 2-3 ms.
   */
  emails: string;
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

export interface RenderedPart {
  rendered: Rendered;
  /** UTF-8 bytes of all the parts. */
  bytes: number;
}

/**
 * Where a render stopped: the first email with a problem. `render`: its variables or its render
 * (the subject never rendered); `parts`: a part's size, or no html and text; `total`: the request
 * passed `requestBytes` with it. With `parts` and `total`, `subject` is its rendered subject, whose
 * problem the API reports first, as a render of its own did.
 */
export interface RenderStop {
  index: number;
  stage: 'render' | 'parts' | 'total';
  problems: FieldError[];
  subject?: string;
}

export type WorkResult =
  | { ok: true; rendered: RenderedPart[] }
  /** A render that stopped: the subjects of the emails before it, to be checked first. */
  | { ok: true; stopped: RenderStop; subjects: string[] }
  | { ok: false; problems: FieldError[] };

/** A thread's compiled published versions (immutable, so never stale): parsed once while they are kept. */
const cache = new CompiledCache();

export function runWork(work: Work): WorkResult {
  if (work.kind === 'render') return renderAll(work);
  const problems = sourceProblems(work.content);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rendered: [] };
}

/**
 * A template is accepted only if every part parses, reads no other file, and uses only the
 * variables it declares: a typo is a 400 now, not a failed send later.
 */
function sourceProblems(content: CheckWork['content']): FieldError[] {
  let compiled: CompiledParts;
  try {
    compiled = compile(content);
  } catch (error) {
    if (error instanceof TemplateSourceError) return [{ path: `/${error.part}`, message: `does not parse: ${error.message}` }];
    throw error;
  }
  return [...usedVariables(compiled)].flatMap(([part, names]) =>
    names
      .filter((n) => !Object.hasOwn(content.variables, n))
      .map((n) => ({ path: `/${part}`, message: `uses ${n}, which is not declared in variables` })),
  );
}

function renderAll(work: RenderWork): WorkResult {
  // Monotonic (runtime's monotonicMs, not imported into this worker): a wall-clock step must not
  // cut a render short or stretch it.
  const deadline = performance.now() + work.budgetMs;
  const compiled = work.versions.map((v) => {
    const chars = v.subject.length + (v.html?.length ?? 0) + (v.text?.length ?? 0);
    return v.key === null ? compile(v) : cache.get(v.key, chars, () => compile(v));
  });
  const done: RenderedPart[] = [];
  const stop = (stopped: RenderStop): WorkResult => ({ ok: true, stopped, subjects: done.map((d) => d.rendered.subject) });
  let total = 0;
  const emails = JSON.parse(work.emails) as EmailToRender[];
  for (const [index, { version, variables, at }] of emails.entries()) {
    const path = `${at}/template`;
    const { scope, errors } = checkVariables((work.versions[version] as VersionSource).variables, variables, `${path}/variables`);
    if (errors.length > 0) return stop({ index, stage: 'render', problems: errors });
    let rendered: Rendered;
    try {
      rendered = renderParts(compiled[version] as CompiledParts, scope, deadline);
    } catch (error) {
      const message = `could not be rendered: ${(error as Error).message.split('\n')[0]}`;
      return stop({ index, stage: 'render', problems: [{ path, message }] });
    }
    const problems: FieldError[] = [];
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
    if (problems.length > 0) return stop({ index, stage: 'parts', problems, subject: rendered.subject });
    total += bytes;
    if (total > work.requestBytes) {
      const message = `the request renders to more than ${work.requestBytes} bytes`;
      return stop({ index, stage: 'total', problems: [{ path, message }], subject: rendered.subject });
    }
    done.push({ rendered, bytes });
  }
  return { ok: true, rendered: done };
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
