// test-plan: standalone
import iconv from 'iconv-lite';
import libmime from 'libmime';
import type { ParsedMail } from 'mailparser';
import t, { type Test } from 'tap';
import { MAX_HELD_BYTES, TextBuilder, TextTable } from '../../src/submission/text-assembly.js';
import { random, run } from './codec-helpers.js';

/** mailparser's last step for a part (mail-parser.js): its charset step's bytes as one string, CRLF read as LF. */
const mailparserText = (bytes: Buffer) => bytes.toString().replace(/\r?\n/g, '\n');
/** What mailparser's charset step gives for a whole part: libmime's decode stream, written at once. */
async function decodedWhole(bytes: Buffer, charset: string): Promise<Buffer> {
  const stream = libmime.createDecodeStream(charset);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => stream.once('end', resolve));
  stream.end(bytes);
  await ended;
  return Buffer.concat(out);
}
/** Bytes from pieces that split CRLFs, multibyte characters and byte-order marks, and invalid ones. */
const PIECES = [
  '\r',
  '\n',
  '\r\n',
  '\r\r\n',
  'a',
  ' ',
  '\xc3\xa9',
  '\xe3\x81\x82',
  '\xf0\x9f\x98\x80',
  '\xef\xbb\xbf',
  '\xed\xa0\x80',
  '\xff',
  '\xc3',
  '\xe3\x81',
];
const bytesOf = (next: () => number, length: number) => {
  let text = '';
  while (text.length < length) text += PIECES[Math.floor(next() * PIECES.length)];
  return Buffer.from(text, 'latin1');
};

t.test('a TextBuilder makes the text mailparser makes, however the bytes come', async (t) => {
  const next = random(17);
  for (let i = 0; i < 400; i++) {
    const bytes = bytesOf(next, 1 + Math.floor(next() * (i % 10 === 0 ? 60_000 : 200)));
    const builder = new TextBuilder();
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + Math.floor(next() * (next() < 0.5 ? 4 : 20_000));
      builder.add(bytes.subarray(at, at + size));
      at += size;
    }
    const text = builder.finish();
    if (text !== mailparserText(bytes)) {
      t.fail(`bytes ${bytes.toString('hex').slice(0, 200)}`);
      return;
    }
  }
  t.pass('400 texts the same');
});

/** What TextTable makes of `bytes` in `charset`, given in random pieces: its text (filled in for the token), or null for none. */
function tableText(t: Test, charset: string | undefined, bytes: Buffer, seed: number): string | null {
  const table = new TextTable();
  const token = run(table.part(charset), bytes, random(seed), 5_000).toString('latin1');
  if (token === '') return null;
  const mail = { text: token } as ParsedMail;
  t.ok(table.fill(mail), 'its token given back once');
  return mail.text as string;
}

t.test("a part's charset is read as mailparser reads it: libmime's decode stream, or UTF-8 as it is", async (t) => {
  const text = 'Grüße, 你好, こんにちは, 안녕하세요 😀\r\nline two\r\n\r\nthree\rfour\n';
  for (const charset of ['gbk', 'gb18030', 'big5', 'euc-kr', 'shift_jis', 'iso-8859-1', 'windows-1252', 'koi8-r', 'utf-16le', 'utf-16']) {
    const bytes = iconv.encode(text.repeat(300), charset === 'utf-16' ? 'utf-16le' : charset);
    const input = charset === 'utf-16' ? Buffer.concat([Buffer.from([0xff, 0xfe]), bytes]) : bytes;
    const expected = mailparserText(await decodedWhole(input, charset));
    t.match(expected, /Grüße|Gr..e/, `${charset}: the reference reads the text`);
    for (const seed of [1, 2, 3]) t.equal(tableText(t, charset, input, seed), expected, `${charset}, seed ${seed}`);
  }
  // Read as UTF-8 as it is: no charset, ascii, us-ascii, utf-8 in any spelling.
  const utf8 = Buffer.from(text.repeat(50));
  for (const charset of [undefined, 'ascii', 'US-ASCII', 'UTF8', 'utf-8'])
    t.equal(tableText(t, charset, utf8, 4), mailparserText(utf8), String(charset));
  // A charset libmime refuses (UTF-7 would turn +ADw- into "<") or does not know: UTF-8, as in mailparser.
  for (const charset of ['utf-7', 'x-unknown']) t.equal(tableText(t, charset, Buffer.from('+ADw-b+AD4- é'), 5), '+ADw-b+AD4- é', charset);
});

t.test('a part with no text gives no token: mailparser skips an empty text', async (t) => {
  t.equal(tableText(t, 'utf-8', Buffer.alloc(0), 1), null, 'no bytes');
  t.equal(tableText(t, 'gbk', Buffer.alloc(0), 1), null, 'no bytes in GBK');
  t.equal(tableText(t, 'utf-16', Buffer.from([0xff, 0xfe]), 1), null, 'a UTF-16 byte-order mark alone decodes to nothing');
});

t.test('libmime holding a run of double-byte text it cannot cut: refused past MAX_HELD_BYTES', async (t) => {
  // "你好" in GBK has no byte below 0x30, where libmime's decoder cuts: it would decode it all at the end.
  const run_ = (bytes: number) => Buffer.alloc(bytes, Buffer.from('c4e3bac3', 'hex'));
  t.throws(() => run(new TextTable().part('gbk'), run_(MAX_HELD_BYTES + 4), random(1), 4_096), {
    code: 'EMAIL_ERR_MESSAGE_UNREADABLE',
    message: /its gbk text has more than 65536 bytes in a run that cannot be cut/,
  });
  // The same run cut by a line break every 998 bytes or less, as text has: read whole.
  const lines = Buffer.concat(Array.from({ length: 300 }, () => Buffer.concat([run_(996), Buffer.from('\r\n')])));
  t.equal(tableText(t, 'gbk', lines, 2), mailparserText(await decodedWhole(lines, 'gbk')));
  // A run just under the limit is read.
  t.equal(tableText(t, 'gbk', run_(MAX_HELD_BYTES - 4_096), 3), '你好'.repeat((MAX_HELD_BYTES - 4_096) / 4));
});

t.test('fill: each token for its text, once; anything else is false, for the caller to parse without', async (t) => {
  const table = new TextTable();
  const first = table.part('utf-8');
  first.write(Buffer.from('one\r\n'));
  const a = first.end().toString('latin1');
  const second = table.part('iso-8859-1');
  second.write(Buffer.from('tw\xf6', 'latin1'));
  const b = second.end().toString('latin1');
  t.not(a, b);
  const mail = { text: `${a}\n${b}`, html: false } as ParsedMail;
  t.ok(table.fill(mail));
  t.equal(mail.text, 'one\n\ntwö', 'each text in place of its token');

  const twice = { text: `${a}\n${a}`, html: `${b}` } as ParsedMail;
  t.notOk(table.fill(twice), 'a token twice');
  t.notOk(table.fill({ text: a, html: false } as ParsedMail), 'a token missing (read as an attachment)');
  t.ok(new TextTable().fill({ text: 'no parts', html: false } as ParsedMail), 'a message with no text parts');
  // A token of another message's table is not this one's: a message cannot write one.
  const other = new TextTable();
  const part = other.part('utf-8');
  part.write(Buffer.from('x'));
  const foreign = part.end().toString('latin1');
  t.not(foreign.slice(0, 50), a.slice(0, 50), 'each table has a nonce of its own');
});
