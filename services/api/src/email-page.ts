import { type ListPage, listEmails } from '@postline/ledger';
import type { FastifyInstance } from 'fastify';
import { fromLedger } from './from-ledger.js';
import { DEFAULT_LIST_PAGE, UNKNOWN_CURSOR } from './schemas.js';
import { validationProblem } from './validation.js';

/**
 * A page of the account's emails (GET /v1/emails, Resend's emails.list), its query already
 * validated; a cursor the ledger does not find for the account is a 400 naming it.
 */
export async function emailPage(
  app: FastifyInstance,
  account: string,
  query: { limit?: number | undefined; after?: string | undefined; before?: string | undefined },
): Promise<ListPage> {
  const { limit, after, before } = query;
  const cursor = after ? { after } : before ? { before } : null;
  const page = await fromLedger(() => listEmails(app.ledger, account, limit ?? DEFAULT_LIST_PAGE, cursor));
  if (!page) throw validationProblem([{ path: after ? '/after' : '/before', message: UNKNOWN_CURSOR }]);
  return page;
}
