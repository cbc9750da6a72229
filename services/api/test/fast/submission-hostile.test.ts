// test-plan: standalone
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { lazyParser } from '../../src/submission/lazy-parser.js';
import { submittedRequest } from '../../src/submission/submitted-request.js';

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
  // The heap `npm run api` gives the API (the image sets the same). Deriving its text part with
  // html-to-text took that heap to its limit: the process died of it (exit 134).
  const script = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).scripts.api as string;
  const heap = /--max-old-space-size=\d+/.exec(script)?.[0];
  t.equal(heap, '--max-old-space-size=128');
  const parserUrl = new URL('../../dist/submission/lazy-parser.js', import.meta.url).href;
  const code = `
    const { lazyParser } = await import(${JSON.stringify(parserUrl)});
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const mail = await lazyParser()(Buffer.concat(chunks));
    console.log(JSON.stringify({ html: mail.html.length, text: (mail.text ?? '').length }));`;
  const child = spawn(process.execPath, ['--max-semi-space-size=8', heap as string, '--input-type=module', '-e', code], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.stdin.end(htmlOnly);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(exit, 0, 'the process lived');
  // All of the HTML (its line breaks read as LF), and no text part.
  t.same(JSON.parse(out || '{}'), { html: htmlOnly.slice(headers.length).replaceAll('\r\n', '\n').length, text: 0 }, out);
});
