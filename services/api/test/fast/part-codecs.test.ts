// test-plan: standalone
import * as libbase64 from 'libbase64';
import libmime from 'libmime';
import t from 'tap';
import { base64Decoder, base64Encoder, type Codec, japaneseToUtf8 } from '../../src/submission/part-codecs.js';
import { random, run } from './codec-helpers.js';

t.test("base64 decoded in pieces is what libbase64's own stream decodes", async (t) => {
  const next = random(29);
  for (let i = 0; i < 200; i++) {
    const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 30_000) }, () => Math.floor(next() * 256)));
    // Lines, junk between groups, and lines padded on their own (a pad restarts the groups).
    const encoded = bytes
      .toString('base64')
      .replace(/.{1,76}/g, (line) => (next() < 0.1 ? `${line}\r\n.~\r\n` : `${line}\r\n`))
      .concat(next() < 0.5 ? 'QQ==\r\nQUI=\r\n' : '');
    const stream = new libbase64.Decoder();
    const expected: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => expected.push(chunk));
    stream.end(Buffer.from(encoded, 'latin1'));
    await new Promise((resolve) => stream.on('end', resolve));
    t.ok(run(base64Decoder(), Buffer.from(encoded, 'latin1'), next).equals(Buffer.concat(expected)), `case ${i}`);
  }
});

t.test('base64 out: 76-character lines that decode to the bytes in', async (t) => {
  const next = random(5);
  const bytes = Buffer.from(Array.from({ length: 100_003 }, () => Math.floor(next() * 256)));
  const encoded = run(base64Encoder(), bytes, next).toString('latin1');
  t.ok(Buffer.from(encoded, 'base64').equals(bytes));
  t.ok(
    encoded.split('\r\n').every((line) => line.length <= 76),
    'no line past 76',
  );
  t.equal(encoded.split('\r\n').filter((line) => line.length < 76).length, 1, 'only the last line is short');
});

/** What mailparser gets from libmime's decode stream for the whole part. */
async function libmimeDecoded(bytes: Buffer, charset: string): Promise<string> {
  const stream = libmime.createDecodeStream(charset);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  stream.end(bytes);
  await new Promise((resolve) => stream.on('end', resolve));
  return Buffer.concat(out).toString('utf8');
}

t.test('Japanese charsets become UTF-8 as they arrive, as libmime reads them from the whole', async (t) => {
  // ISO-2022-JP: kana and kanji (JIS X 0208), half-width katakana (ESC ( I), ASCII; EUC-JP alike.
  const iso = Buffer.from('\x1b$B$3$s$K$A$OF|K\\\x1b(B hello\r\n\x1b(I1235\x1b(B ok\r\n'.repeat(500), 'latin1');
  // EUC-JP is JIS X 0208 with the high bit set on both bytes.
  const kanji = Buffer.from('$3$s$K$A$OF|K\\', 'latin1').map((byte) => byte | 0x80);
  const eucBytes = Buffer.concat(Array.from({ length: 500 }, () => Buffer.concat([kanji, Buffer.from(' hello\r\n')])));
  for (const [charset, bytes] of [
    ['ISO-2022-JP', iso],
    ['iso-2022-jp', iso],
    ['jis', iso],
    ['eucjp', eucBytes],
  ] as const) {
    const codec = japaneseToUtf8(charset);
    t.ok(codec, `${charset} is rewritten`);
    t.equal(run(codec as Codec, bytes, random(11)).toString('utf8'), await libmimeDecoded(bytes, charset), charset);
  }
  t.match(await libmimeDecoded(iso, 'iso-2022-jp'), /^こんにちは日本 hello\r\nｱｲｳｵ ok\r\n/);
  for (const charset of ['utf-8', 'EUC-JP', 'shift_jis', 'iso-8859-1', 'x-unknown'])
    t.equal(japaneseToUtf8(charset), null, `${charset}: libmime's own stream`);
});
