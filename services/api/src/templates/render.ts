import { type RequestLimits, subjectSchema, type TemplateRef, type VariablesDeclaration, type VariableType } from '@postline/contracts';
import { resolveTemplate, type TemplateVersion } from '@postline/ledger';
import type pg from 'pg';
import type { FieldError } from '../errors.js';
import { validationProblem } from '../validation.js';
import { type TemplateEngine, templateEngine } from './engine.js';
import { MAX_RENDERED_BYTES } from './limits.js';
import type { CompiledParts, Rendered } from './liquid-engine.js';

/** All the renders of one request together (a batch of 100 templated emails): the event loop is never blocked longer. */
export const REQUEST_RENDER_BUDGET_MS = 250;
/** Compiled published versions (immutable, so never stale): parsing is done once per version. */
const CACHE_SIZE = 500;

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

/** Renders a version, or throws the 400 that says why not (a variable, a limit, the rendered subject). */
export function renderVersion(
  engine: TemplateEngine,
  version: Pick<TemplateVersion, 'variables'>,
  compiled: CompiledParts,
  variables: Record<string, unknown>,
  limits: Pick<RequestLimits, 'maxSubjectLength'>,
  at: string,
  deadline: number,
): Rendered {
  const { scope, errors } = checkVariables(version.variables, variables, `${at}/variables`);
  if (errors.length > 0) throw validationProblem(errors);
  let rendered: Rendered;
  try {
    rendered = engine.renderParts(compiled, scope, deadline);
  } catch (error) {
    throw validationProblem([{ path: at, message: `could not be rendered: ${(error as Error).message.split('\n')[0]}` }]);
  }
  const problems: FieldError[] = [];
  const subject = subjectSchema(limits).safeParse(rendered.subject);
  if (!subject.success) problems.push({ path: at, message: `the rendered subject ${subject.error.issues[0]?.message ?? 'is invalid'}` });
  for (const part of ['subject', 'html', 'text'] as const) {
    const value = rendered[part];
    if (value !== undefined && Buffer.byteLength(value) > MAX_RENDERED_BYTES) {
      problems.push({ path: at, message: `the rendered ${part} is over ${MAX_RENDERED_BYTES} bytes` });
    }
  }
  // An empty part is left out; an email with neither is not an email.
  if (rendered.html === '') delete rendered.html;
  if (rendered.text === '') delete rendered.text;
  if (rendered.html === undefined && rendered.text === undefined) problems.push({ path: at, message: 'renders an empty html and text' });
  if (problems.length > 0) throw validationProblem(problems);
  return rendered;
}

/** Resolves and renders template sends at the API, before the produce (the envelope carries the result). */
export class TemplateRenderer {
  private readonly cache = new Map<string, CompiledParts>();

  constructor(
    private readonly db: pg.Pool,
    private readonly limits: Pick<RequestLimits, 'maxSubjectLength'>,
  ) {}

  /** Compiled once per published version; a version never changes after its publish. */
  compiled(engine: TemplateEngine, id: string, version: TemplateVersion): CompiledParts {
    const key = `${id}@${version.version}`;
    let parts = this.cache.get(key);
    if (!parts) {
      parts = engine.compile(version);
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, parts);
    }
    return parts;
  }

  /** `at`: the JSON pointer of the email in the body ('' or /emails/i). Throws the 400 that names the problem. */
  async render(
    account: string,
    ref: TemplateRef,
    at: string,
    deadline: number,
  ): Promise<{ rendered: Rendered; id: string; version: number }> {
    const found = await resolveTemplate(this.db, account, ref.id ?? (ref.name as string), ref.version);
    if (!found) {
      const what = ref.version === undefined ? 'no published version' : `no published version ${ref.version}`;
      throw validationProblem([{ path: `${at}/template/${ref.id ? 'id' : 'name'}`, message: `no such template, or it has ${what}` }]);
    }
    const engine = await templateEngine();
    const compiled = this.compiled(engine, found.id, found);
    const rendered = renderVersion(engine, found, compiled, ref.variables, this.limits, `${at}/template`, deadline);
    return { rendered, id: found.id, version: found.version };
  }
}
