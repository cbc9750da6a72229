// test-plan: standalone
import { createRequire } from 'node:module';
import { types } from 'node:util';
import t from 'tap';
import { KEY } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { submissionTransport } from '../../../../test/helpers/smtp-clients.js';

// CommonJS packages imported from ESM land in the CommonJS loader's cache too.
const require = createRequire(import.meta.url);
const loaded = (pattern: RegExp) => Object.keys(require.cache).some((path) => pattern.test(path));
/** mailparser (its CommonJS build: submission/mailparser.ts), or mailsplit, which the submission's pre-pass (streaming-parts.ts) imports itself. */
const mailparserLoaded = () => loaded(/[\\/]node_modules[\\/](mailparser|@zone-eu[\\/]mailsplit)[\\/]/);
/** html-to-text's own dependencies: its stand-in (lazy-module.ts's deferModule) is in the cache under its name. */
const htmlToTextLoaded = () => loaded(/[\\/]node_modules[\\/](htmlparser2|selderee|deepmerge-ts)[\\/]/);
/** mailparser's html-to-text is still deferModule's stand-in (mailparser's ES build would load its own, not seen in this cache). */
const htmlToTextPath = createRequire(require.resolve('mailparser')).resolve('html-to-text');
const htmlToTextDeferred = () => types.isProxy(require.cache[htmlToTextPath]?.exports);

t.test('the API loads mailparser with the first submitted message, not before: an HTTP-only deployment never carries it', async (t) => {
  t.notOk(mailparserLoaded(), 'not loaded by the test itself');
  const { app, produced } = await buildMemoryApi(t, { SUBMISSION_PORT: '0' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  // Time for an import started at boot (a dynamic one resolves in tens of milliseconds) to land.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.notOk(mailparserLoaded(), 'not loaded by an API whose submission port is listening');
  const transport = submissionTransport(t, app.submissionPort() as number, KEY);
  const sent = await transport.sendMail({ from: 'sender@example.com', to: 'someone@example.net', subject: 'Hi', text: 'hello' });
  t.match(sent.response, /^250 /, 'the first message is accepted');
  t.ok(mailparserLoaded(), 'loaded for it');
  t.equal(produced.length, 1);

  // An HTML part is what mailparser would hand to html-to-text, had readMessage not turned that off.
  await transport.sendMail({ from: 'sender@example.com', to: 'someone@example.net', subject: 'Hi', html: '<p>hello <b>there</b></p>' });
  t.equal(produced.length, 2);
  t.ok(htmlToTextDeferred(), "mailparser's html-to-text is a stand-in");
  t.notOk(htmlToTextLoaded(), 'html-to-text (8.5 MB of RSS) is never loaded: mailparser only requires it');

  // The stand-in is mailparser's html-to-text all the same: a parse that asks for the conversion gets it.
  const mailparser = require(require.resolve('mailparser')) as typeof import('mailparser');
  const parsed = await mailparser.simpleParser('Content-Type: text/html\r\n\r\n<p>hello <b>there</b></p>\r\n');
  t.equal(parsed.text?.trim(), 'hello there', 'converted by the real module, which loads then');
  t.ok(htmlToTextLoaded());
  t.notOk(htmlToTextDeferred(), 'the cache now holds the real module');
});

t.test('an install without the parser fails at boot, in one sentence that says what to do, not with the first message', async (t) => {
  const { lazyParser } = await import('../../src/submission/lazy-parser.js');
  t.throws(() => lazyParser('postline-no-such-parser'), {
    message:
      /^SMTP submission needs the postline-no-such-parser package, which cannot be found .*: reinstall with npm ci, or set SUBMISSION_PORT=off$/,
  });
  // That finding mailparser at boot does not load it is the first test's "not loaded by an API whose submission port is listening".
  t.type(lazyParser(), 'function', 'mailparser itself is found');
});
