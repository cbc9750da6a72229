import MimeNode from 'nodemailer/lib/mime-node';

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
/**
 * An address nodemailer sends as it is: a dot-atom local part and a domain name in lower case
 * whose last label starts with a letter (a numeric one would be read as an IPv4 address by the
 * URL parser nodemailer normalizes domains with: `a@0x7f.1` becomes `a@127.0.0.1`).
 */
const PLAIN = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?$`);

/**
 * MAIL FROM and RCPT TO as nodemailer's Mailer wrote them: each address normalized (a Unicode
 * domain as its A-label, a local part that is not a dot-atom quoted) and the recipients deduped.
 * The common address is kept as it is, without a MIME node (checked against one, in its test).
 */
export function smtpEnvelope(from: string, to: string[]): { from: string; to: string[] } {
  if (PLAIN.test(from) && to.every((address) => PLAIN.test(address))) return { from, to: [...new Set(to)] };
  // A fixed boundary base: the node is only an envelope parser, and a random one is a system call.
  const envelope = new MimeNode('text/plain', { baseBoundary: 'envelope' }).setEnvelope({ from, to }).getEnvelope();
  return { from: envelope.from || '', to: envelope.to };
}
