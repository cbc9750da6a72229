import type { ParsedMail } from 'mailparser';
import { MessageUnreadableError } from '../errors.js';
import { findPackage, loadOnce } from '../lazy-module.js';

type Mailparser = typeof import('mailparser');
type StreamingParts = typeof import('./streaming-parts.js');

/**
 * SMTP submission's MIME parser, loaded with the first submitted message: mailparser and the
 * charset tables it builds cost the API process about 13 MB of RSS (measured on top of its
 * other modules), which a deployment whose clients only use HTTP never needs. The package is
 * still found at boot (resolving reads no module), so an install without it fails then, in one
 * sentence, and not with the first message. A failed load is retried with the next message.
 * The message reaches mailparser through streamingParts, which decodes a piece at a time the
 * parts mailparser's libraries would decode in one piece.
 */
export function lazyParser(specifier = 'mailparser'): (raw: Buffer) => Promise<ParsedMail> {
  const url = findPackage(specifier, 'SMTP submission', 'reinstall with npm ci, or set SUBMISSION_PORT=off');
  const parser = loadOnce(() =>
    Promise.all([import(url) as Promise<Mailparser>, import('./streaming-parts.js') as Promise<StreamingParts>]),
  );
  return async (raw) => {
    const [{ simpleParser }, { streamingParts }] = await parser();
    // skipHtmlToText: an HTML-only message is sent as it came, HTML only. mailparser would derive a
    // text part with html-to-text, which a 4.2 MB HTML body took the API's 128 MB heap to its limit
    // with: the process died (fast/submission-hostile.test.ts).
    const options = { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, skipHtmlToText: true };
    // A message the parser refuses is the client's to mend (a 5xx), not one to send again as it is.
    return simpleParser(streamingParts(raw), options).catch((error: Error & { code?: string }) => {
      throw error.code === 'EMAIL_ERR_MESSAGE_UNREADABLE' ? error : new MessageUnreadableError(error.message, { cause: error });
    });
  };
}
