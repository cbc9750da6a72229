import type { ParsedMail } from 'mailparser';

type Mailparser = typeof import('mailparser');

/**
 * SMTP submission's MIME parser, loaded with the first submitted message: mailparser and the
 * charset tables it builds cost the API process about 13 MB of RSS (measured on top of its
 * other modules), which a deployment whose clients only use HTTP never needs. The package is
 * still found at boot (resolving reads no module), so an install without it fails then, in one
 * sentence, and not with the first message. A failed load is retried with the next message.
 */
export function lazyParser(specifier = 'mailparser'): (raw: Buffer) => Promise<ParsedMail> {
  let url: string;
  try {
    url = import.meta.resolve(specifier);
  } catch (error) {
    throw new Error(
      `SMTP submission needs the ${specifier} package, which cannot be found (${(error as Error).message}): reinstall with npm ci, or set SUBMISSION_PORT=off`,
      { cause: error },
    );
  }
  let loading: Promise<Mailparser> | null = null;
  return async (raw) => {
    loading ??= (import(url) as Promise<Mailparser>).catch((error: unknown) => {
      loading = null;
      throw error;
    });
    const { simpleParser } = await loading;
    return simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  };
}
