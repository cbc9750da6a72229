import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { deferModule } from '../lazy-module.js';

export type Mailparser = typeof import('mailparser');

/**
 * mailparser's CommonJS build, whose html-to-text is deferred (lazy-module.ts): readMessage
 * turns off mailparser's only use of it (skipHtmlToText). With it loaded, the first message cost
 * 24-27 MB of RSS and kept 5.8 MB of heap (2026-12-05). Why not the ES build: an ES module's
 * imports cannot be deferred, and its CommonJS dependencies (mailsplit, so libmime's CommonJS
 * build) load either way.
 */
export function loadMailparser(specifier = 'mailparser'): Mailparser {
  const require = createRequire(import.meta.url);
  const entry = require.resolve(specifier);
  deferModule(pathToFileURL(entry).href, 'html-to-text');
  return require(entry) as Mailparser;
}
