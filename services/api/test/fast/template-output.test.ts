// test-plan: standalone

import t from 'tap';
import * as engine from '../../src/templates/liquid-engine.js';
import { RenderPool, renderWork } from '../../src/templates/render-pool.js';

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
  // 200 copies: 200 MB written unbounded, three times the heap check's bound. Each `push` copies the
  // list, so building it is quadratic: 1,000 copies took 12-33 ms on an idle host, and past the 100 ms
  // render limit under CI's load, where the time limit refused it before the output charge was reached.
  'a list holding one 1 MB string 200 times, written out':
    '{% assign a = "" | split: "," %}{% for i in (1..200) %}{% assign a = a | push: big %}{% endfor %}{{ a }}',
  'many captures, each made a distinct flat string': Array.from(
    { length: 200 },
    (_, i) => `{% capture c${i} %}{{ big }}${i}{% endcapture %}{% if c${i} contains "b" %}{% endif %}`,
  ).join(''),
  'echo in a {% liquid %} loop': '{% liquid\nfor i in (1..400)\necho big\nendfor %}',
};

t.test('a template that writes more than the output limit is refused, whichever tag writes it', async (t) => {
  for (const [what, text] of Object.entries(hostile)) {
    const compiled = engine.compile({ subject: 'hi', html: null, text });
    const before = process.memoryUsage().heapUsed;
    t.throws(() => engine.renderParts(compiled, { big }, performance.now() + 250), /output limit exceeded/, what);
    const grown = process.memoryUsage().heapUsed - before;
    t.ok(grown < 64e6, `${what}: the heap grew by ${Math.round(grown / 1e6)} MB`);
  }
});

t.test('a template that writes within the limits renders in full', async (t) => {
  const compiled = engine.compile({
    subject: '{{ items | size }} items',
    html: '{% capture head %}<h1>{{ title }}</h1>{% endcapture %}{{ head | raw }}{% for i in items %}<p>{{ big }}</p>{% endfor %}',
    text: '{{ big }}',
  });
  const rendered = engine.renderParts(compiled, { big: 'x'.repeat(300_000), title: '<T>', items: [1, 2, 3] }, performance.now() + 250);
  t.equal(rendered.subject, '3 items');
  t.equal(rendered.html?.length, '<h1>&lt;T&gt;</h1>'.length + 3 * (300_000 + 7), 'html: three 300 KB paragraphs and a captured heading');
  t.equal(rendered.text?.length, 300_000);
  // The largest part the rendered-size bound lets through (1 MiB), captured and then written
  // with html escaping: charged three times over, and still inside the limit.
  const largest = engine.compile({ subject: 'x', html: '{% capture body %}{{ big }}{% endcapture %}{{ body }}', text: '{{ big }}' });
  const out = engine.renderParts(largest, { big: 'y'.repeat(1024 * 1024) }, performance.now() + 250);
  t.equal(out.html?.length, 1024 * 1024);
  t.equal(out.text?.length, 1024 * 1024);
});

t.test('on a template thread, the doubling template is a refusal, not a crash, five times in a row', async (t) => {
  // Renders run on threads of their own heap (render-pool.ts). Without the charge each render read
  // 256 MB flat: the API's process died of a full heap (exit 134) in 2 of 3 runs on its 128 MB heap
  // (npm run api), and otherwise ran past the render's time limit.
  const pool = new RenderPool({ threads: 1 });
  t.teardown(() => pool.close());
  const versions = [
    { key: 'tmpl_doubling@1', subject: 'hi', html: null, text: doubling, variables: { big: { type: 'string' as const, required: true } } },
  ];
  // First with an empty variable, which it renders in full: the thread compiles and keeps the
  // template then, as it keeps a published version, so the renders below are the doubling's work
  // alone. The render limit is wall time: on CI's busy host a first render, compiling within the
  // limit, met it before the charge (CI on abec17d), which is the time limit's to refuse, not this test's.
  const small = await pool.run(renderWork(versions, [{ version: 0, variables: { big: '' }, at: '' }], 4 * 1024 * 1024, 250));
  t.match(small, { result: { ok: true, rendered: [{ rendered: { text: 'done' } }] } }, 'an empty variable renders in full');
  for (let i = 0; i < 5; i++) {
    const out = await pool.run(renderWork(versions, [{ version: 0, variables: { big }, at: '' }], 4 * 1024 * 1024, 250));
    t.match(
      out,
      { result: { ok: true, stopped: { problems: [{ path: '/template', message: /template output limit exceeded/ }] } } },
      `render ${i + 1}`,
    );
    t.notOk('killed' in out, 'its thread was not stopped: the charge refused it first');
  }
  t.equal(pool.threads, 1, 'one thread did all six');
});
