import type { MimeNode } from '@zone-eu/mailsplit';
import { MessageUnreadableError } from '../errors.js';

/** The headers mailparser reads as address lists (its processHeaders), in every part's header block. */
const ADDRESS_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'sender',
  'reply-to',
  'delivered-to',
  'return-path',
  'disposition-notification-to',
]);

/**
 * The most bytes a message's address headers may hold, in all its parts together. mailparser
 * parses a block's address headers in one turn of the event loop, at about ten times the cost of
 * other header bytes (the address parser, then a text and an HTML rendering of each address): a
 * To of 3,800 addresses (99 KB, under the 100 KiB a header block may hold) held the loop 24-98 ms,
 * and 50 parts with such a To each (4.9 MB) took 1.5-1.9 s of CPU, where the same parts with a
 * header of other text took 0.3-0.55 s. 32 KiB is about 1,200 addresses: an email goes to at most
 * 50 (MAX_RECIPIENTS), which take a few KB even with long names, and Postmark and Resend refuse a
 * message whose headers name more than 50. Counted in bytes, as they came: an encoded word can hide
 * the commas and at signs that an address count would look for.
 */
export const MAX_ADDRESS_HEADER_BYTES = 32 * 1024;

/** Adds up each node's address headers, and refuses the message past MAX_ADDRESS_HEADER_BYTES. */
export function addressHeaderBudget(): (node: MimeNode) => void {
  let bytes = 0;
  return (node) => {
    if (!node.headers) return;
    for (const { key, line } of node.headers.getList()) if (ADDRESS_HEADERS.has(key)) bytes += line.length;
    if (bytes > MAX_ADDRESS_HEADER_BYTES) {
      throw new MessageUnreadableError(`its address headers hold more than ${MAX_ADDRESS_HEADER_BYTES} bytes`);
    }
  };
}
