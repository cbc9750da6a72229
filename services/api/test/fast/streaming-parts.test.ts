// test-plan: standalone
import type { Readable } from 'node:stream';
import { type ParsedMail, type SimpleParserOptions, simpleParser } from 'mailparser';
import t from 'tap';
import { MAX_ADDRESS_HEADER_BYTES } from '../../src/submission/address-headers.js';
import { readMessage } from '../../src/submission/read-message.js';
import { MAX_HEAD_BYTES, MAX_TEXT_LINES, streamingParts } from '../../src/submission/streaming-parts.js';
import { TextTable } from '../../src/submission/text-assembly.js';

const options = { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, skipHtmlToText: true };
const head =
  'From: "Doe, Jane" <jane@example.com>\r\nTo: a@example.net\r\nSubject: =?iso-2022-jp?B?GyRCJDMkcxsoQg==?=\r\nMIME-Version: 1.0\r\n';
const iso = '\x1b$B$3$s$K$A$OF|K\\\x1b(B hello';
const isoBase64 = Buffer.from(`${iso}\r\n`, 'latin1').toString('base64');

/** Messages whose parts the pre-pass rewrites, and some it leaves alone. */
const corpus: Record<string, string> = {
  'quoted-printable text, soft breaks and escapes': `${head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 au lait, =\r\nsoft break, trailing space   \r\nx=3Dy =\r\n=E2=82=AC\r\n`,
  'quoted-printable in latin-1 (its charset kept)': `${head}Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\n`,
  'alternative: quoted-printable text and html, base64 attachment': `${head}Content-Type: multipart/mixed; boundary=outer\r\n\r\npreamble\r\n--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello=\r\n there\r\n--inner\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\n<p style=3D"x">Hello=\r\n there</p>\r\n--inner--\r\n--outer\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--outer--\r\nepilogue\r\n`,
  'a quoted-printable attachment: its bytes as they were': `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: text/plain; charset=iso-2022-jp; name=j.txt\r\nContent-Disposition: attachment; filename=j.txt\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=1B$B$3$s=1B(B=00=FF\r\n--b--\r\n`,
  'iso-2022-jp text, 7bit': `${head}Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n${iso}\r\n${iso}\r\n`,
  'iso-2022-jp text, base64': `${head}Content-Type: text/plain; charset="iso-2022-jp"\r\nContent-Transfer-Encoding: base64\r\n\r\n${isoBase64}\r\n`,
  'iso-2022-jp html, quoted-printable': `${head}Content-Type: text/html; charset=iso-2022-jp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=1B$B$3$s$K$A$O=1B(B</p>\r\n`,
  'a decoded boundary is text, not structure': `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbefore=0D=0A--b=0D=0AContent-Type: text/html=0D=0A=0D=0A<b>injected</b>=0D=0A--b--\r\n--b--\r\n`,
  'an inline message/rfc822 with a quoted-printable part': `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nforwarded:\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\nFrom: x@example.org\r\nSubject: inner\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ninner =3D text\r\n--b--\r\n`,
  'format=flowed in quoted-printable': `${head}Content-Type: text/plain; format=flowed; delsp=yes\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nA long line that =\r\nwas  \r\nwrapped.\r\n> quoted \r\n> too\r\n`,
  'format=flowed, 7bit, quoted and signed': `${head}Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\nA paragraph that \r\nwas wrapped, \r\n stuffed.\r\n> quoted \r\n> on and on\r\n>> deeper\r\n\r\n-- \r\nJane\r\n`,
  'format=flowed in base64, iso-2022-jp': `${head}Content-Type: text/plain; charset=iso-2022-jp; format=flowed; delsp=yes\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(`${iso} \r\n${iso}\r\n`, 'latin1').toString('base64')}\r\n`,
  'a flowed attachment: its bytes as they were': `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: text/plain; format=flowed; name=f.txt\r\nContent-Disposition: attachment; filename=f.txt\r\n\r\nwrapped \r\nline\r\n--b--\r\n`,
  'plain 8bit text, base64 html': `${head}Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCafé\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+aGk8L3A+\r\n--b--\r\n`,
  // The texts are made before mailparser (TextTable): where it would skip a part, join parts, or take one as an attachment.
  'empty text parts among others, mixed': `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b\r\nContent-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n//4=\r\n--b\r\nContent-Type: text/plain\r\n\r\nthree\r\n--b--\r\n`,
  'charsets: GBK, Big5, latin-1 html, UTF-16 with its mark': `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xc4\xe3\xba\xc3 GBK\r\n--b\r\nContent-Type: text/plain; charset="Big5"\r\nContent-Transfer-Encoding: base64\r\n\r\npXCmbiBCaWc1DQo=\r\n--b\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Gr=FC=DFe</p>\r\n--b\r\nContent-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n//5oAGkADQAKAA==\r\n--b--\r\n`,
  'line breaks: lone CR, lone LF, CR CR LF': `${head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('a\rb\nc\r\r\nd\r\n\r\ne\r'.repeat(3_000)).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`,
  'dispositions: inline with a filename, an unknown one, text/csv inline': `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: inline; filename=note.txt\r\n\r\nnote\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: x-unknown\r\n\r\nnot text\r\n--b\r\nContent-Type: text/csv\r\nContent-Disposition: inline\r\n\r\na,b\r\n--b\r\nContent-Type: TEXT/HTML\r\n\r\n<i>upper</i>\r\n--b--\r\n`,
  'a delivery-status part is text unless kept': `${head}Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n`,
  'no content type (text/plain, as mailparser reads the root)': `From: a@example.com\r\nSubject: s\r\n\r\nbare\r\nbody\r\n`,
};

/** What submittedRequest reads from a parse, and what the attachments hold. */
const reading = (mail: ParsedMail) => ({
  subject: mail.subject,
  from: mail.from?.text,
  to: mail.to,
  messageId: mail.messageId,
  text: mail.text,
  html: mail.html,
  attachments: mail.attachments.map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    content: a.content.toString('base64'),
  })),
});

async function rewritten(raw: Buffer): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of streamingParts(raw, { texts: new TextTable() })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

t.test('readMessage reads the same message as mailparser alone', async (t) => {
  for (const [name, message] of Object.entries(corpus)) {
    const raw = Buffer.from(message, 'latin1');
    for (const keepDeliveryStatus of [false, true]) {
      const direct = reading(await simpleParser(raw, { ...options, keepDeliveryStatus }));
      let parses = 0;
      const counted = (input: Readable, o: SimpleParserOptions) => {
        parses++;
        return simpleParser(input, o);
      };
      t.same(reading(await readMessage(raw, counted, { keepDeliveryStatus })), direct, `${name}${keepDeliveryStatus ? ', kept' : ''}`);
      t.equal(parses, 1, 'in one parse, its texts made before mailparser');
    }
  }
  const injected = reading(
    await simpleParser(Buffer.from(corpus['a decoded boundary is text, not structure'] as string, 'latin1'), options),
  );
  t.match(injected.text, /<b>injected<\/b>/, 'the boundary stays in the text');
  t.equal(injected.html, false, 'and makes no html part');
});

t.test('what mailparser is given: no quoted-printable part, no flowed text, and Japanese text as UTF-8', async (t) => {
  for (const [name, message] of Object.entries(corpus)) {
    const out = await rewritten(Buffer.from(message, 'latin1'));
    t.notMatch(out, /Content-Transfer-Encoding: quoted-printable/i, name);
    // An attachment keeps its charset and format (mailparser gives an attachment's bytes, not its text).
    if (!name.includes('attachment: its bytes')) t.notMatch(out, /charset="?iso-2022-jp|format=flowed/i, name);
  }
  // Parts mailparser reads as attachments, unless quoted-printable, pass as they came.
  const attachments = `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b\r\nContent-Type: text/csv; charset=iso-2022-jp\r\nContent-Transfer-Encoding: 8bit\r\n\r\na,b\r\n${iso}\r\n--b--\r\n`;
  t.equal(await rewritten(Buffer.from(attachments, 'latin1')), attachments, 'attachments pass as they came');
  const text = await rewritten(Buffer.from(corpus['plain 8bit text, base64 html'] as string, 'latin1'));
  t.equal(
    text.match(/Content-Transfer-Encoding: base64/g)?.length,
    2,
    'text parts in 8bit and base64 are rewritten: their lines are counted',
  );
});

t.test('a large quoted-printable part is rewritten a piece at a time', async (t) => {
  // 4.8 MB of soft line breaks, the hostile bench's message: the pre-pass gives the decoded part
  // out as base64 in many pieces, where libqp's stream gives it in one when the part has ended.
  const raw = Buffer.from(
    `${head}Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${'=41=\r\n'.repeat(800_000)}`,
  );
  let pieces = 0;
  for await (const chunk of streamingParts(raw)) if ((chunk as Buffer).toString('latin1').startsWith('QUFB')) pieces++;
  t.ok(pieces > 50, `${pieces} pieces of decoded text`);
  const mail = await simpleParser(streamingParts(raw), options);
  t.equal(mail.text, 'A'.repeat(800_000));
});

t.test('mailparser is given pieces of 16 KiB, not a write per line or header', async (t) => {
  // Its input stage copies what it holds with every write up to 64 KiB: thousands of small writes
  // (999 small parts here) cost it that copy each.
  const raw = Buffer.from(
    `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\nContent-Type: text/plain\r\n\r\nx\r\n'.repeat(999)}--b--\r\n`,
  );
  const sizes: number[] = [];
  for await (const chunk of streamingParts(raw)) sizes.push((chunk as Buffer).length);
  t.ok(sizes.length > 1 && sizes.slice(0, -1).every((size) => size >= 16 * 1024), `${sizes.length} pieces: ${sizes.join(', ')}`);
});

t.test("a message mailsplit refuses is refused the same, with mailsplit's error", async (t) => {
  const raw = Buffer.from(`From: a@example.com\r\nX-Long: ${'x'.repeat(3_000_000)}\r\n\r\nbody\r\n`);
  await t.rejects(simpleParser(raw, options), { code: 'EMAXLEN' });
  await t.rejects(simpleParser(streamingParts(raw), options), { code: 'EMAXLEN' });
});

t.test('a header block holds at most MAX_HEAD_BYTES (mailsplit allows 1 MiB)', async (t) => {
  // mailparser reads a block in one turn: a To of 30,000 addresses held the loop 164 ms. Address
  // headers have a smaller budget of their own (below); a long References chain is any header.
  const ids = (bytes: number) => '<0123456789abcdef@example.net> '.repeat(Math.floor(bytes / 31));
  const message = (bytes: number) =>
    Buffer.from(`From: a@example.com\r\nReferences: ${ids(bytes)}<last@example.net>\r\nSubject: s\r\n\r\nhi\r\n`);
  const under = await readMessage(message(MAX_HEAD_BYTES - 1_000), simpleParser);
  t.equal([under.references].flat().length, Math.floor((MAX_HEAD_BYTES - 1_000) / 31) + 1, 'under it, every reference read');
  await simpleParser(message(MAX_HEAD_BYTES + 1_000), options); // mailparser alone reads it
  await t.rejects(readMessage(message(MAX_HEAD_BYTES + 1_000), simpleParser), { code: 'EMAXLEN' }, 'over it, refused');
});

t.test('the text parts of a message have at most MAX_TEXT_LINES line breaks, together', async (t) => {
  const message = (textLines: number, htmlLines: number, attachmentLines = 0) =>
    Buffer.from(
      `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n${'\r\n'.repeat(textLines)}--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${'<br>=\r\n\r\n'.repeat(htmlLines)}--b\r\nContent-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment\r\n\r\n${'\n'.repeat(attachmentLines)}\r\n--b--\r\n`,
    );
  // A part's last line break belongs to the boundary after it: a text part of n CRLFs holds n - 1.
  const atLimit = await simpleParser(streamingParts(message(MAX_TEXT_LINES / 2 + 1, MAX_TEXT_LINES / 2 + 1, 500_000)), options);
  t.ok(atLimit.text?.startsWith('\n'.repeat(MAX_TEXT_LINES / 2)), "at the limit, read (an attachment's lines are not text)");
  t.equal((atLimit.html as string).split('<br>').length - 1, MAX_TEXT_LINES / 2 + 1, 'the HTML part, read');
  await t.rejects(simpleParser(streamingParts(message(MAX_TEXT_LINES / 2 + 1, MAX_TEXT_LINES / 2 + 2)), options), {
    code: 'EMAIL_ERR_MESSAGE_UNREADABLE',
    message: `The message cannot be read: its text has more than ${MAX_TEXT_LINES} lines`,
  });
  // 4.8 MB of empty lines: 1.6 million, refused before mailparser makes its text of them.
  await t.rejects(simpleParser(streamingParts(Buffer.from(`${head}\r\n${'\r\n'.repeat(1_600_000)}`)), options), {
    code: 'EMAIL_ERR_MESSAGE_UNREADABLE',
  });
});

t.test('mailparser is given a token for each text part, not its text: it makes no text of its own', async (t) => {
  // Its last step makes a part's text in one turn of the event loop (200,000 lines: 50-88 ms).
  const lines = 'hello world, this is a l\r\n'.repeat(MAX_TEXT_LINES - 1);
  const raw = Buffer.from(
    `${head}Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n${lines}--b\r\nContent-Type: text/html; charset=gbk\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>\xc4\xe3\xba\xc3</p>\r\n--b--\r\n`,
    'latin1',
  );
  const given = await rewritten(raw);
  t.ok(given.length < 2_000, `${given.length} bytes given to mailparser for ${raw.length}`);
  t.notMatch(given, /charset=gbk/, 'each text part names UTF-8, for its token to be read as it is');
  const mail = await readMessage(raw, simpleParser);
  t.equal(mail.text, lines.slice(0, -2).replaceAll('\r\n', '\n'), 'the text, filled in');
  t.equal(mail.html, '<p>你好</p>', 'the HTML, read in its charset');
});

t.test('an empty part does not run into the boundary after it', async (t) => {
  // mailsplit gives the line break before an empty part's boundary with the part: rewritten without it,
  // the boundary followed the part's base64 on its line, and the next part's headers became text.
  const raw = `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n`;
  const given = await rewritten(Buffer.from(raw));
  t.match(given, /\r\n--b\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text\/html/, 'the boundary on a line of its own');
  const mail = await readMessage(Buffer.from(raw), simpleParser);
  t.equal(mail.html, '<br/>\n<p>two</p>', "the HTML part read as HTML (after the empty text part's empty HTML)");
});

t.test('a token mailparser does not give back as it went: read again, with mailparser making the texts', async (t) => {
  const raw = Buffer.from(corpus['alternative: quoted-printable text and html, base64 attachment'] as string, 'latin1');
  const inputs: string[] = [];
  // A parser that loses the text (as if it read the part as an attachment): the tokens do not come back.
  const losing = async (input: Readable, o: SimpleParserOptions) => {
    const mail = await simpleParser(input, o);
    inputs.push(typeof mail.text === 'string' && mail.text.startsWith('postline-text-') ? 'tokens' : 'texts');
    if (inputs.length === 1) mail.text = undefined;
    return mail;
  };
  const mail = await readMessage(raw, losing);
  t.same(inputs, ['tokens', 'texts'], 'parsed again, without tokens');
  t.same(reading(mail), reading(await simpleParser(raw, options)), 'what mailparser alone reads');
});

t.test("a message's address headers hold at most MAX_ADDRESS_HEADER_BYTES, in all its parts together", async (t) => {
  // mailparser parses every part's address headers, at about ten times the cost of other header
  // bytes: a To of 3,800 addresses held the loop up to 98 ms, 50 parts with one each took 1.5-1.9 s of CPU.
  const to = (bytes: number) => `${'"Doe, J" <x@example.net>, '.repeat(Math.floor(bytes / 26))}y@example.net`;
  const message = (parts: string[]) =>
    Buffer.from(
      `From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts.map((headers) => `--b\r\nContent-Type: text/plain\r\n${headers}\r\n\r\nx\r\n`).join('')}--b--\r\n`,
    );
  const half = MAX_ADDRESS_HEADER_BYTES / 2;
  const under = await readMessage(message([`To: ${to(half - 1_000)}`, `Cc: ${to(half - 1_000)}`]), simpleParser);
  t.equal(under.text, 'x\nx', 'under it, read');
  const refusal = {
    code: 'EMAIL_ERR_MESSAGE_UNREADABLE',
    message: `The message cannot be read: its address headers hold more than ${MAX_ADDRESS_HEADER_BYTES} bytes`,
  };
  await t.rejects(readMessage(message([`To: ${to(half)}`, `Reply-To: ${to(half)}`]), simpleParser), refusal, 'in two parts');
  await t.rejects(readMessage(message(Array(3).fill(`Bcc: ${to(half - 5_000)}`)), simpleParser), refusal, 'Bcc too');
  await t.rejects(
    readMessage(Buffer.from(`From: a@example.com\r\nTo: ${to(MAX_ADDRESS_HEADER_BYTES)}\r\n\r\nhi\r\n`), simpleParser),
    refusal,
    'one To',
  );
  const other = await readMessage(message(Array(3).fill(`X-Note: ${to(half * 2).replaceAll('@', ' at ')}`)), simpleParser);
  t.equal(other.text, 'x\nx\nx', 'other headers are not counted');
});
