import type { ParsedMail } from 'mailparser';
import { MessageUnreadableError } from '../errors.js';
import { findPackage, loadOnce } from '../lazy-module.js';
import { loadMailparser } from './mailparser.js';

type ReadMessage = typeof import('./read-message.js');

/**
 * SMTP submission's MIME parser, loaded with the first submitted message: mailparser and the
 * charset tables it builds cost the API process about 15 MB of RSS (a heap of 4.4 MB kept),
 * which a deployment whose clients only use HTTP never needs. The package is
 * still found at boot (resolving reads no module), so an install without it fails then, in one
 * sentence, and not with the first message. A failed load is retried with the next message.
 * The message is read by readMessage: through a pre-pass that decodes a piece at a time what
 * mailparser's libraries would decode in one piece, and makes the texts of its text parts.
 */
export function lazyParser(specifier = 'mailparser'): (raw: Buffer) => Promise<ParsedMail> {
  findPackage(specifier, 'SMTP submission', 'reinstall with npm ci, or set SUBMISSION_PORT=off');
  const parser = loadOnce(async () => [loadMailparser(specifier), (await import('./read-message.js')) as ReadMessage] as const);
  return async (raw) => {
    const [{ simpleParser }, { readMessage }] = await parser();
    // A message the parser refuses is the client's to mend (a 5xx), not one to send again as it is.
    return readMessage(raw, simpleParser).catch((error: Error & { code?: string }) => {
      throw error.code === 'EMAIL_ERR_MESSAGE_UNREADABLE' ? error : new MessageUnreadableError(error.message, { cause: error });
    });
  };
}
