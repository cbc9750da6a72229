/** Render time of one part of one email: a loop over a huge list stops here (a 400, never a hung API). */
export const RENDER_LIMIT_MS = 100;
/** Rendered size of one part (subject, html, text). */
export const MAX_RENDERED_BYTES = 1024 * 1024;

export interface TemplateSource {
  subject: string;
  html: string | null;
  text: string | null;
}

/** A part that does not parse (or uses a refused tag), named. */
export class TemplateSourceError extends Error {
  constructor(
    readonly part: keyof TemplateSource,
    message: string,
  ) {
    super(message);
  }
}
