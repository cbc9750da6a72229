// test-plan: standalone

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { templateEngine } from '../../src/templates/engine.js';

// What a template writes (its output and its captures) is bounded for each part's render, as
// liquidjs bounds what its filters allocate. A template is written by any key holder, and its variables
// come with the send: up to a 4 MiB body.

const big = 'a'.repeat(1_000_000);
const double = '{% capture s %}{{ s }}{{ s }}{% endcapture %}';
/** A 1 MB variable doubled eight times (256 MB as a rope, nearly free), then read flat by `contains`. */
const doubling = `{% capture s %}{{ big }}{% endcapture %}${double.repeat(8)}{% if s contains "b" %}b{% endif %}done`;

const hostile: Record<string, string> = {
  'captures doubling a variable, then read flat': doubling,
  'a loop writing a 1 MB variable 400 times': '{% for i in (1..400) %}{{ big }}{% endfor %}',
  'a list holding one 1 MB string 1,000 times, written out':
    '{% assign a = "" | split: "," %}{% for i in (1..1000) %}{% assign a = a | push: big %}{% endfor %}{{ a }}',
  'many captures, each made a distinct flat string': Array.from(
    { length: 200 },
    (_, i) => `{% capture c${i} %}{{ big }}${i}{% endcapture %}{% if c${i} contains "b" %}{% endif %}`,
  ).join(''),
  'echo in a {% liquid %} loop': '{% liquid\nfor i in (1..400)\necho big\nendfor %}',
};

t.test('a template that writes more than the output limit is refused, whichever tag writes it', async (t) => {
  const engine = await templateEngine();
  for (const [what, text] of Object.entries(hostile)) {
    const compiled = engine.compile({ subject: 'hi', html: null, text });
    const before = process.memoryUsage().heapUsed;
    t.throws(() => engine.renderParts(compiled, { big }, Date.now() + 250), /output limit exceeded/, what);
    const grown = process.memoryUsage().heapUsed - before;
    t.ok(grown < 64e6, `${what}: the heap grew by ${Math.round(grown / 1e6)} MB`);
  }
});

t.test('a template that writes within the limits renders in full', async (t) => {
  const engine = await templateEngine();
  const compiled = engine.compile({
    subject: '{{ items | size }} items',
    html: '{% capture head %}<h1>{{ title }}</h1>{% endcapture %}{{ head | raw }}{% for i in items %}<p>{{ big }}</p>{% endfor %}',
    text: '{{ big }}',
  });
  const rendered = engine.renderParts(compiled, { big: 'x'.repeat(300_000), title: '<T>', items: [1, 2, 3] }, Date.now() + 250);
  t.equal(rendered.subject, '3 items');
  t.equal(rendered.html?.length, '<h1>&lt;T&gt;</h1>'.length + 3 * (300_000 + 7), 'html: three 300 KB paragraphs and a captured heading');
  t.equal(rendered.text?.length, 300_000);
  // The largest part the rendered-size bound lets through (1 MiB), captured and then written
  // with html escaping: charged three times over, and still inside the limit.
  const largest = engine.compile({ subject: 'x', html: '{% capture body %}{{ big }}{% endcapture %}{{ body }}', text: '{{ big }}' });
  const out = engine.renderParts(largest, { big: 'y'.repeat(1024 * 1024) }, Date.now() + 250);
  t.equal(out.html?.length, 1024 * 1024);
  t.equal(out.text?.length, 1024 * 1024);
});

t.test('on the heap the API runs with, the doubling template is a refusal, not a crash', async (t) => {
  // The heap `npm run api` gives the API (the image sets the same), and five sends in a row.
  // Without the charge each render read 256 MB flat: the process died of a full heap (exit 134)
  // in 2 of 3 runs, and otherwise ran past the render's time limit.
  const script = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).scripts.api as string;
  const heap = /--max-old-space-size=\d+/.exec(script)?.[0];
  t.equal(heap, '--max-old-space-size=128');
  const engineUrl = new URL('../../dist/templates/engine.js', import.meta.url).href;
  const code = `
    const { templateEngine } = await import(${JSON.stringify(engineUrl)});
    const engine = await templateEngine();
    const compiled = engine.compile({ subject: 'hi', html: null, text: ${JSON.stringify(doubling)} });
    for (let i = 0; i < 5; i++) {
      try { engine.renderParts(compiled, { big: 'a'.repeat(1_000_000) }, Date.now() + 250); console.log('rendered'); }
      catch (error) { console.log(error.message.split('\\n')[0]); }
    }`;
  const child = spawn(process.execPath, [heap as string, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(exit, 0, 'the process lived');
  t.equal(out.match(/template output limit exceeded/g)?.length, 5, out);
});
