// test-plan: standalone
import * as libbase64 from 'libbase64';
import libmime from 'libmime';
import * as libqp from 'libqp';
import t from 'tap';
import { base64Decoder, base64Encoder, type Codec, japaneseToUtf8, qpDecoder } from '../../src/submission/part-codecs.js';

/** A seeded generator, so a failure can be run again. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `bytes` through `codec` in pieces of random sizes (1 byte to 40 KiB, past the codec's 16 KiB pieces). */
function run(codec: Codec, bytes: Buffer, next: () => number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * (next() < 0.5 ? 80 : 40_000));
    out.push(codec.write(bytes.subarray(at, at + size)));
    at += size;
  }
  out.push(codec.end());
  return Buffer.concat(out);
}

/** Text from `alphabet`, with runs: the cases a cut can get wrong are "=", "=X", and whitespace before a line break. */
function textOf(alphabet: string[], length: number, next: () => number): string {
  let text = '';
  while (text.length < length) {
    const piece = alphabet[Math.floor(next() * alphabet.length)] as string;
    text += piece.repeat(next() < 0.05 ? 1 + Math.floor(next() * 3000) : 1);
  }
  return text;
}

t.test('quoted-printable decoded in pieces is what libqp decodes from the whole', async (t) => {
  const alphabet = ['=', '=', 'A', '4', '1', 'f', 'x', ' ', '\t', '\r', '\n', '\r\n', '=\r\n', '=41', '=4', '\u00e9'];
  const next = random(17);
  let cases = 0;
  for (let i = 0; i < 300; i++) {
    const text = textOf(alphabet, i < 250 ? 1 + Math.floor(next() * 200) : 20_000 + Math.floor(next() * 60_000), next);
    const bytes = Buffer.from(text, 'latin1');
    const whole = libqp.decode(text);
    const pieces = run(qpDecoder(), bytes, next);
    if (!pieces.equals(whole)) {
      t.fail(`case ${i} differs`, { text: JSON.stringify(text.slice(0, 300)) });
      return;
    }
    cases++;
  }
  t.equal(cases, 300, 'every case the same');
});

t.test('a part without a line break or a place to cut is decoded at its end, the same', async (t) => {
  for (const text of ['='.repeat(100_000), ' '.repeat(100_000), ` ${'\t '.repeat(50_000)}\r\nx`, `${'=4'.repeat(50_000)}1`]) {
    t.ok(run(qpDecoder(), Buffer.from(text, 'latin1'), random(3)).equals(libqp.decode(text)), JSON.stringify(text.slice(0, 6)));
  }
});

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
