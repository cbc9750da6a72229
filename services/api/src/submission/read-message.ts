import type { Readable } from 'node:stream';
import type { ParsedMail, SimpleParserOptions } from 'mailparser';
import { streamingParts } from './streaming-parts.js';
import { TextTable } from './text-assembly.js';

type SimpleParser = (input: Readable, options: SimpleParserOptions) => Promise<ParsedMail>;

/**
 * A message (a submission, or a report to the bounce listener) as mailparser reads it, through
 * the pre-pass (streamingParts), with its text parts' texts made there (TextTable) and put in
 * mailparser's text and html after it. So mailparser derives nothing from a text: no text from
 * HTML (html-to-text, which a 4.2 MB HTML body took the API's 128 MB heap to its limit with:
 * fast/submission-hostile.test.ts), no HTML from text, no data: URLs for cid: images; what it
 * would derive from a token is not what it would from the text. keepDeliveryStatus keeps a
 * delivery-status part an attachment, for the bounce listener.
 */
export async function readMessage(raw: Buffer, simpleParser: SimpleParser, { keepDeliveryStatus = false } = {}): Promise<ParsedMail> {
  const options = { keepDeliveryStatus, skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true };
  const texts = new TextTable();
  const mail = await simpleParser(streamingParts(raw, { keepDeliveryStatus, texts }), options);
  if (texts.fill(mail)) return mail;
  // A token not given back as it went (TextTable.fill): mailparser makes the texts itself.
  return simpleParser(streamingParts(raw, { keepDeliveryStatus }), options);
}
