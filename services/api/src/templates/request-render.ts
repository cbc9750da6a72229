import type { EmailRequest, QueuedEmail } from '@postline/contracts';
import type { FastifyInstance } from 'fastify';
import { fromLedger } from '../from-ledger.js';
import { holdRoom } from '../plugins/body-budget.js';
import { MAX_RENDERED_EMAIL_BYTES, source } from './render.js';
import type { VersionSource } from './render-work.js';

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
  // Read once for each template the batch names, one at a time (a version's source is up to
  // 1.5 MiB; all hundred at once would hold them all).
  const versions: VersionSource[] = [];
  const names: { id: string; version: number }[] = [];
  const index = new Map<string, number>();
  const templated: { email: number; version: number; variables: Record<string, unknown>; at: string }[] = [];
  for (const [i, { template: ref }] of emails.entries()) {
    if (!ref) continue;
    const key = JSON.stringify([ref.id, ref.name, ref.version]);
    let version = index.get(key);
    if (version === undefined) {
      const found = await fromLedger(() => app.templates.resolve(account, ref, at(i)));
      version = versions.push(source(found.id, found)) - 1;
      names.push({ id: found.id, version: found.version });
      index.set(key, version);
    }
    templated.push({ email: i, version, variables: ref.variables, at: at(i) });
  }
  const most = Math.min(app.templates.requestBytes, templated.length * MAX_RENDERED_EMAIL_BYTES);
  const release = await holdRoom(app.bodyBudget, most, account);
  try {
    const rendered = await app.templates.render(account, versions, templated);
    const out: RenderedEmail[] = emails.map((email) => ({ email: plain(email), template: null }));
    let bytes = 0;
    for (const [j, { email, version }] of templated.entries()) {
      const r = rendered[j] as (typeof rendered)[number];
      bytes += r.bytes;
      out[email] = { email: { ...plain(emails[email] as EmailRequest), ...r.rendered }, template: names[version] ?? null };
    }
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
