// test-plan: standalone
import libmime from 'libmime';
import t from 'tap';
import { flowedDecoder } from '../../src/submission/flowed-codec.js';
import { random, run, textOf } from './codec-helpers.js';

/** What mailsplit's FlowedDecoder gives for the whole part: decodeFlowed over its bytes as latin-1. */
const whole = (text: string, delSp: boolean) => Buffer.from(libmime.decodeFlowed(text, delSp), 'latin1');

const inPieces = (text: string, delSp: boolean, next: () => number) => run(flowedDecoder(delSp), Buffer.from(text, 'latin1'), next, 5_000);

t.test('flowed text unwrapped as it arrives is what decodeFlowed gives for the whole', async (t) => {
  // Quotes, space-stuffing, soft breaks, the signature line, CRLF, LF and bare CR, empty lines.
  const alphabet = ['>', '>', ' ', ' ', ' ', 'a', 'b', '-', '-- ', '\r\n', '\n', '\n', '\r', '> ', '>> ', '\u00e9'];
  const next = random(41);
  for (const delSp of [false, true]) {
    let failed = 0;
    for (let i = 0; i < 2_000 && failed === 0; i++) {
      const text = textOf(alphabet, i < 1_900 ? Math.floor(next() * 40) : 2_000 + Math.floor(next() * 20_000), next, 0.03, 500);
      const expected = whole(text, delSp);
      const got = inPieces(text, delSp, next);
      if (!got.equals(expected)) {
        failed++;
        t.fail(`delsp=${delSp}, case ${i}`, {
          text: JSON.stringify(text.slice(0, 200)),
          expected: JSON.stringify(expected.toString('latin1').slice(0, 200)),
          got: JSON.stringify(got.toString('latin1').slice(0, 200)),
        });
      }
    }
    t.equal(failed, 0, `delsp=${delSp}: 2,000 texts the same`);
  }
});

t.test('the cases by name', async (t) => {
  const cases: [string, boolean][] = [
    ['A long line that \r\nwas wrapped.\r\n', false],
    ['A long line that \r\nwas wrapped.\r\n', true],
    ['> quoted \r\n> and more\r\n>> deeper\r\nplain\r\n', false],
    [' stuffed\r\n  twice stuffed \r\n continued\r\n', false],
    ['-- \r\nsignature\r\n', false],
    ['two trailing  \r\n\r\n\r\nend', true],
    ['', false],
    ['\r\n\r\n', false],
  ];
  for (const [text, delSp] of cases)
    t.same(inPieces(text, delSp, random(7)).toString('latin1'), whole(text, delSp).toString('latin1'), JSON.stringify(text));
});
