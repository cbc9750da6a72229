// test-plan: standalone
import t from 'tap';
import { serviceNodeArgs } from '../../../../packages/stack/src/node-options.js';
import { KEY } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { submissionTransport } from '../../../../test/helpers/smtp-clients.js';
import { MAX_ADDRESS_HEADER_BYTES } from '../../src/submission/address-headers.js';
import { lazyParser } from '../../src/submission/lazy-parser.js';
import { MAX_TEXT_LINES } from '../../src/submission/streaming-parts.js';
import { submittedRequest } from '../../src/submission/submitted-request.js';
import { MAX_HELD_BYTES } from '../../src/submission/text-assembly.js';
import { readOnApiHeap } from './on-api-heap.js';

const headers = 'From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n';
/** An HTML-only message of 4.2 MB, under SUBMISSION_MAX_BYTES (5 MiB). */
const htmlOnly = `${headers}${'<p>hello <b>world</b> <a href="http://x">x</a></p>\r\n'.repeat(80_000)}`;

t.test('an HTML-only message is sent as it came: no text part derived from its HTML', async (t) => {
  const mail = await lazyParser()(Buffer.from(`${headers}<p>Hello <b>there</b></p>\r\n`));
  const { bodies } = submittedRequest(mail, ['b@example.net'], () => true);
  t.equal(bodies[0]?.html, '<p>Hello <b>there</b></p>\n');
  t.notOk('text' in (bodies[0] as object), 'no text');
});

t.test("on the API's heap, a 4.2 MB HTML-only message parses, and the process lives", async (t) => {
  // Deriving its text part with html-to-text took that heap to its limit: the process died of it (exit 134).
  t.ok(serviceNodeArgs('api').includes('--max-old-space-size=128'), "the API's heap is 128 MB");
  const { exit, results } = await readOnApiHeap('submission', [htmlOnly]);
  t.equal(exit, 0, 'the process lived');
  // All of the HTML (its line breaks read as LF), and no text part.
  t.same(results, [{ html: htmlOnly.slice(headers.length).replaceAll('\r\n', '\n').length, text: 0 }]);
});

t.test("on the API's heap, three messages of 1.6 million empty lines are refused, and the process lives", async (t) => {
  // mailparser's last step, the text as one string with its CRLFs read as LF, took 103 MB of heap
  // for one of them, and three at once ended the process (exit 134): one account's share of the
  // body budget holds four. The text's lines are counted first.
  const emptyLines = `From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\n${'\r\n'.repeat(1_600_000)}`;
  const { exit, results } = await readOnApiHeap('submission', [emptyLines, emptyLines, emptyLines]);
  t.equal(exit, 0, 'the process lived');
  t.same(results, Array(3).fill({ error: 'EMAIL_ERR_MESSAGE_UNREADABLE' }));
});

t.test('over SMTP: a message the parser refuses gets 550 5.6.0, not a 4xx to send it again as it is', async (t) => {
  const { app, produced } = await buildMemoryApi(t, { SUBMISSION_PORT: '0' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const transport = submissionTransport(t, app.submissionPort() as number, KEY);
  const envelope = { from: 'sender@example.com', to: ['someone@example.net'] };
  const head = 'From: sender@example.com\r\nTo: someone@example.net\r\nSubject: s\r\n';
  for (const [name, raw, reply] of [
    [
      'too many lines',
      `${head}\r\n${'\r\n'.repeat(MAX_TEXT_LINES + 1)}`,
      `550 5.6.0 The message cannot be read: its text has more than ${MAX_TEXT_LINES} lines`,
    ],
    [
      'a run of GBK with no byte to cut at (libmime would decode it in one piece)',
      `${head}Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.alloc(MAX_HELD_BYTES + 4, Buffer.from('c4e3bac3', 'hex')).toString('base64')}\r\n`,
      `550 5.6.0 The message cannot be read: its gbk text has more than ${MAX_HELD_BYTES} bytes in a run that cannot be cut`,
    ],
    [
      'address headers past their budget, in two parts',
      `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n${`--b\r\nContent-Type: text/plain\r\nTo: ${'x@example.net, '.repeat(4_000)}y@example.net\r\n\r\nx\r\n`.repeat(2)}--b--\r\n`,
      `550 5.6.0 The message cannot be read: its address headers hold more than ${MAX_ADDRESS_HEADER_BYTES} bytes`,
    ],
    [
      'a subject in UTF-16 holding a lone surrogate (mailparser decodes it as it is)',
      `From: sender@example.com\r\nTo: someone@example.net\r\nSubject: =?UTF-16BE?B?${Buffer.from([0xd8, 0, 0, 0x41]).toString('base64')}?=\r\n\r\nbody\r\n`,
      '550 5.6.0 Message refused: /subject is not Unicode text: it holds a lone surrogate',
    ],
    [
      "a header past mailsplit's limit",
      `${head}X-Long: ${'x'.repeat(3_000_000)}\r\n\r\nbody\r\n`,
      '550 5.6.0 The message cannot be read: Max header size',
    ],
  ] as const) {
    const refused = await transport.sendMail({ envelope, raw }).catch((error: { response?: string }) => error.response ?? '');
    t.match(refused, reply, name);
  }
  t.equal(produced.length, 0, 'nothing produced');
  const sent = await transport.sendMail({ envelope, raw: `${head}\r\n${'line\r\n'.repeat(MAX_TEXT_LINES - 1)}` });
  t.match(sent.response, /^250 /, 'a message at the limit is accepted');
});
