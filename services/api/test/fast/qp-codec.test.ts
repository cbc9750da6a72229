// test-plan: standalone
import * as libqp from 'libqp';
import t from 'tap';
import { qpDecoder } from '../../src/submission/qp-codec.js';
import { random, run, textOf } from './codec-helpers.js';

// The cases a decoder that reads ahead can get wrong: "=", "=X", a soft break, whitespace before a
// line break, and long runs of each across the pieces it is given.
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
