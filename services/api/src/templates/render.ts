import { type RequestLimits, subjectSchema, type TemplateRef } from '@postline/contracts';
import { resolveTemplate, type TemplateContent, type TemplateVersion } from '@postline/ledger';
import type pg from 'pg';
import { type FieldError, RenderTimeSpentError } from '../errors.js';
import { validationProblem } from '../validation.js';
import { MAX_RENDERED_BYTES } from './limits.js';
import { RenderAllowance } from './render-allowance.js';
import { HARD_LIMIT_MS, RenderPool, renderWork } from './render-pool.js';
import type { EmailToRender, RenderedPart, VersionSource, Work, WorkResult } from './render-work.js';

/** All the renders of one request together (a batch of 100 templated emails), on a template thread (render-pool.ts). */
export const REQUEST_RENDER_BUDGET_MS = 250;

/** The most one email can render to: three parts of MAX_RENDERED_BYTES (the subject's is checked after its render). */
export const MAX_RENDERED_EMAIL_BYTES = 3 * MAX_RENDERED_BYTES;

/** Resolves and renders template sends at the API, before the produce (the envelope carries the result). */
export class TemplateRenderer {
  /** The most all the emails of one request may render to: what a plain request may carry (BODY_LIMIT_BYTES). */
  readonly requestBytes: number;
  private readonly allowance: RenderAllowance;
  private readonly pool: RenderPool;
  /** Each account's last task: an account's templates run one task at a time, so one key fills one thread at most. */
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: pg.Pool,
    private readonly limits: Pick<RequestLimits, 'maxSubjectLength'>,
    {
      requestBytes,
      renderMsPerSecond,
      threads,
      onThreadError,
    }: { requestBytes: number; renderMsPerSecond: number; threads: number; onThreadError?: (error: Error) => void },
  ) {
    this.requestBytes = requestBytes;
    // A burst of ten seconds' worth: a batch now and then is never held back.
    this.allowance = new RenderAllowance(renderMsPerSecond, 10 * renderMsPerSecond);
    this.pool = new RenderPool({ threads, ...(onThreadError ? { onError: onThreadError } : {}) });
  }

  /**
   * The version a send names; `at` is the JSON pointer of the email in the body ('' or
   * /emails/i). Throws the 400 that names an unknown template or version.
   */
  async resolve(account: string, ref: TemplateRef, at: string): Promise<TemplateVersion & { id: string }> {
    const found = await resolveTemplate(this.db, account, ref.id ?? (ref.name as string), ref.version);
    if (!found) {
      const what = ref.version === undefined ? 'no published version' : `no published version ${ref.version}`;
      throw validationProblem([{ path: `${at}/template/${ref.id ? 'id' : 'name'}`, message: `no such template, or it has ${what}` }]);
    }
    return found;
  }

  /** Checks a template being saved (every part parses, uses only declared variables); throws the 400 that says why not. */
  async check(account: string, content: TemplateContent): Promise<void> {
    await this.run(account, { kind: 'check', content });
  }

  /**
   * Renders templated emails from `versions` (see source()), all within REQUEST_RENDER_BUDGET_MS
   * and `requestBytes`; throws the 400 that names the email and the problem.
   */
  async render(account: string, versions: VersionSource[], emails: EmailToRender[]): Promise<RenderedPart[]> {
    const out = await this.run(account, renderWork(versions, emails, this.requestBytes, REQUEST_RENDER_BUDGET_MS));
    const subjectProblem = (subject: string, index: number): FieldError | null => {
      const checked = subjectSchema(this.limits).safeParse(subject);
      if (checked.success) return null;
      return { path: `${emails[index]?.at}/template`, message: `the rendered subject ${checked.error.issues[0]?.message ?? 'is invalid'}` };
    };
    // As one render after the other did: the first email with a problem is the 400, its subject's first.
    const subjects = 'rendered' in out ? out.rendered.map((r) => r.rendered.subject) : out.subjects;
    for (const [index, subject] of subjects.entries()) {
      const problem = subjectProblem(subject, index);
      if (problem) throw validationProblem([problem]);
    }
    if ('rendered' in out) return out.rendered;
    const { index, stage, problems, subject } = out.stopped;
    const problem = stage === 'render' || subject === undefined ? null : subjectProblem(subject, index);
    if (problem) throw validationProblem(stage === 'parts' ? [problem, ...problems] : [problem]);
    throw validationProblem(problems);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /**
   * Runs `work` on a template thread, in `account`'s turn and on its render time: a 429 with
   * Retry-After when it has none left, and what the work took is charged to it.
   */
  private run(account: string, work: Work): Promise<Exclude<WorkResult, { ok: false }>> {
    const task = async () => {
      if (this.allowance.balance(account) < 0) {
        throw Object.assign(new RenderTimeSpentError(), { retryAfter: this.allowance.retryAfterSeconds(account) });
      }
      const outcome = await this.pool.run(work);
      this.allowance.spend(account, outcome.ms);
      if ('killed' in outcome) {
        const message =
          outcome.killed === 'time'
            ? `the templates ran past ${HARD_LIMIT_MS} ms and were stopped`
            : 'the templates ran out of memory and were stopped';
        throw validationProblem([{ path: '', message }]);
      }
      if (!outcome.result.ok) throw validationProblem(outcome.result.problems);
      return outcome.result;
    };
    const mine = (this.turns.get(account) ?? Promise.resolve()).then(task, task);
    const tail = mine.catch(() => {});
    this.turns.set(account, tail);
    void tail.then(() => {
      if (this.turns.get(account) === tail) this.turns.delete(account);
    });
    return mine;
  }
}

/** What a thread renders a version from: its source, kept compiled there by id@version once published. */
export function source(id: string, version: TemplateVersion): VersionSource {
  const { subject, html, text, variables } = version;
  return { key: version.publishedAt === null ? null : `${id}@${version.version}`, subject, html, text, variables };
}
