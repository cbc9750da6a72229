import type { EmailRequest, QueuedEmail, TemplateRef } from '@postline/contracts';
import type { FastifyInstance } from 'fastify';
import { fromLedger } from '../from-ledger.js';
import { holdRoom } from '../plugins/body-budget.js';
import { validationProblem } from '../validation.js';
import { MAX_RENDERED_EMAIL_BYTES, REQUEST_RENDER_BUDGET_MS, type ResolvedTemplate } from './render.js';

export interface RenderedEmail {
  email: QueuedEmail;
  template: { id: string; version: number } | null;
}

/**
 * The email as it will be sent: a template send is rendered here, before the produce, so the
 * record holds exactly what goes out and a redelivery renders nothing. Throws the 400 that names
 * the template problem; 503 without the ledger, or without room.
 *
 * What a request renders is held to what a plain request may carry (BODY_LIMIT_BYTES for all
 * its emails), and it holds room in the body budget as a body does: a batch of 12 KB could render
 * a 2 MiB template a hundred times, and a few such requests at once would fill the API's heap.
 * Room for the most the request may render is taken before its first render, and only what it
 * rendered is kept, until the caller gives it back.
 */
export async function renderTemplates(app: FastifyInstance, account: string, emails: EmailRequest[], batch: boolean): Promise<Rendering> {
  const plain = (email: EmailRequest): QueuedEmail => {
    const { scheduledAt: _due, template: _ref, subject, ...rest } = email;
    return { ...rest, subject: subject as string };
  };
  if (!emails.some((email) => email.template))
    return { emails: emails.map((email) => ({ email: plain(email), template: null })), release: () => {} };
  const at = (i: number) => (batch ? `/emails/${i}` : '');
  // One at a time, and once for each template the batch names (a version's source is up to
  // 1.5 MiB; all hundred at once would hold them all).
  const known = new Map<string, ResolvedTemplate>();
  const resolved: (ResolvedTemplate | null)[] = [];
  for (const [i, { template: ref }] of emails.entries()) {
    if (!ref) {
      resolved.push(null);
      continue;
    }
    const key = JSON.stringify([ref.id, ref.name, ref.version]);
    let template = known.get(key);
    if (!template) {
      template = await fromLedger(() => app.templates.resolve(account, ref, at(i)));
      known.set(key, template);
    }
    resolved.push(template);
  }
  const limit = app.templates.requestBytes;
  const most = Math.min(limit, resolved.filter(Boolean).length * MAX_RENDERED_EMAIL_BYTES);
  const release = await holdRoom(app.bodyBudget, most, account);
  const deadline = Date.now() + REQUEST_RENDER_BUDGET_MS;
  let bytes = 0;
  try {
    const renderAll = () =>
      emails.map((email, i): RenderedEmail => {
        const template = resolved[i];
        if (!template) return { email: plain(email), template: null };
        const result = app.templates.render(template, (email.template as TemplateRef).variables, at(i), deadline);
        bytes += result.bytes;
        if (bytes > limit)
          throw validationProblem([{ path: `${at(i)}/template`, message: `the request renders to more than ${limit} bytes` }]);
        return { email: { ...plain(email), ...result.rendered }, template: { id: result.id, version: result.version } };
      });
    const out = app.templates.charged(account, renderAll);
    release(bytes);
    return { emails: out, release };
  } catch (error) {
    release();
    throw error;
  }
}

export interface Rendering {
  emails: RenderedEmail[];
  /** Gives back the room the rendered emails hold. */
  release: () => void;
}
