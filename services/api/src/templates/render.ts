import { type RequestLimits, subjectSchema, type TemplateRef, type VariablesDeclaration, type VariableType } from '@postline/contracts';
import { resolveTemplate, type TemplateVersion } from '@postline/ledger';
import type pg from 'pg';
import { type FieldError, RenderTimeSpentError } from '../errors.js';
import { validationProblem } from '../validation.js';
import { CompiledCache } from './compiled-cache.js';
import { type TemplateEngine, templateEngine } from './engine.js';
import { MAX_RENDERED_BYTES } from './limits.js';
import type { CompiledParts, Rendered } from './liquid-engine.js';
import { RenderAllowance } from './render-allowance.js';

/** All the renders of one request together (a batch of 100 templated emails): the event loop is never blocked longer. */
export const REQUEST_RENDER_BUDGET_MS = 250;

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

/** The most one email can render to: three parts of MAX_RENDERED_BYTES (the subject's is checked after its render). */
export const MAX_RENDERED_EMAIL_BYTES = 3 * MAX_RENDERED_BYTES;

export interface RenderedVersion {
  rendered: Rendered;
  /** UTF-8 bytes of all the parts. */
  bytes: number;
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
): RenderedVersion {
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
  let bytes = 0;
  for (const part of ['subject', 'html', 'text'] as const) {
    const value = rendered[part];
    const size = value === undefined ? 0 : Buffer.byteLength(value);
    if (size > MAX_RENDERED_BYTES) problems.push({ path: at, message: `the rendered ${part} is over ${MAX_RENDERED_BYTES} bytes` });
    bytes += size;
  }
  // An empty part is left out; an email with neither is not an email.
  if (rendered.html === '') delete rendered.html;
  if (rendered.text === '') delete rendered.text;
  if (rendered.html === undefined && rendered.text === undefined) problems.push({ path: at, message: 'renders an empty html and text' });
  if (problems.length > 0) throw validationProblem(problems);
  return { rendered, bytes };
}

/** Resolves and renders template sends at the API, before the produce (the envelope carries the result). */
export class TemplateRenderer {
  /** Compiled published versions (immutable, so never stale): parsed once while they are kept. */
  private readonly cache = new CompiledCache();

  /** The most all the emails of one request may render to: what a plain request may carry (BODY_LIMIT_BYTES). */
  readonly requestBytes: number;
  private readonly allowance: RenderAllowance;

  constructor(
    private readonly db: pg.Pool,
    private readonly limits: Pick<RequestLimits, 'maxSubjectLength'>,
    { requestBytes, renderMsPerSecond }: { requestBytes: number; renderMsPerSecond: number },
  ) {
    this.requestBytes = requestBytes;
    // A burst of ten seconds' worth: a batch now and then is never held back.
    this.allowance = new RenderAllowance(renderMsPerSecond, 10 * renderMsPerSecond);
  }

  /**
   * Runs `work` (a compile, renders) on `account`'s render time: a 429 with Retry-After when it
   * has none left, and what the work took is charged to it.
   */
  charged<T>(account: string, work: () => T): T {
    if (this.allowance.balance(account) < 0) {
      throw Object.assign(new RenderTimeSpentError(), { retryAfter: this.allowance.retryAfterSeconds(account) });
    }
    const started = performance.now();
    try {
      return work();
    } finally {
      this.allowance.spend(account, performance.now() - started);
    }
  }

  /** Compiled once per published version while it is kept; a version never changes after its publish. */
  compiled(engine: TemplateEngine, id: string, version: TemplateVersion): CompiledParts {
    const chars = version.subject.length + (version.html?.length ?? 0) + (version.text?.length ?? 0);
    return this.cache.get(`${id}@${version.version}`, chars, () => engine.compile(version));
  }

  /**
   * The version a send names, compiled; `at` is the JSON pointer of the email in the body ('' or
   * /emails/i). Throws the 400 that names an unknown template or version.
   */
  async resolve(account: string, ref: TemplateRef, at: string): Promise<ResolvedTemplate> {
    const found = await resolveTemplate(this.db, account, ref.id ?? (ref.name as string), ref.version);
    if (!found) {
      const what = ref.version === undefined ? 'no published version' : `no published version ${ref.version}`;
      throw validationProblem([{ path: `${at}/template/${ref.id ? 'id' : 'name'}`, message: `no such template, or it has ${what}` }]);
    }
    const engine = await templateEngine();
    return { engine, version: found, compiled: this.charged(account, () => this.compiled(engine, found.id, found)) };
  }

  /** Renders a resolved template with a send's variables within `deadline` (epoch ms); throws the 400 that names the problem. */
  render(
    { engine, version, compiled }: ResolvedTemplate,
    variables: Record<string, unknown>,
    at: string,
    deadline: number,
  ): RenderedVersion & { id: string; version: number } {
    const out = renderVersion(engine, version, compiled, variables, this.limits, `${at}/template`, deadline);
    return { ...out, id: version.id, version: version.version };
  }
}

export interface ResolvedTemplate {
  engine: TemplateEngine;
  version: TemplateVersion & { id: string };
  compiled: CompiledParts;
}
