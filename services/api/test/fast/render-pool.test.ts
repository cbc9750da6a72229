// test-plan: standalone
import { createRequire } from 'node:module';
import t from 'tap';
import { TemplateRenderer } from '../../src/templates/render.js';
import { RenderPool, renderWork } from '../../src/templates/render-pool.js';
import type { RenderWork, VersionSource } from '../../src/templates/render-work.js';

// liquidjs has no ESM entry: imported from ESM, it lands in the CommonJS loader's cache.
const require = createRequire(import.meta.url);
const liquidLoaded = () => Object.keys(require.cache).some((path) => /[\\/]node_modules[\\/]liquidjs[\\/]/.test(path));

const version = (text: string, variables: VersionSource['variables'] = {}): VersionSource => ({
  key: null,
  subject: 'Hi',
  html: null,
  text,
  variables,
});
const render = (versions: VersionSource[], variables: Record<string, unknown> = {}): RenderWork =>
  renderWork(versions, [{ version: 0, variables, at: '' }], 4 * 1024 * 1024, 250);
/** Three nested loops over 2,000 items: runs to the render limit (100 ms a part), as account-limits.test.ts's slow key does. */
const slow = version('{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}{% endfor %}x', {
  items: { type: 'array', required: true },
});
const items = Array.from({ length: 2_000 }, (_, i) => i);

t.test('templates render on a thread started with the first one; the API thread never loads the engine', async (t) => {
  const pool = new RenderPool({ threads: 1 });
  t.teardown(() => pool.close());
  t.equal(pool.threads, 0, 'no thread before the first template');
  const out = await pool.run({
    ...render([{ ...version('{{ name }}'), html: '<p>{{ name }}</p>', variables: { name: { type: 'string', required: true } } }], {
      name: '<b>',
    }),
  });
  t.match(out, { result: { ok: true, rendered: [{ rendered: { subject: 'Hi', html: '<p>&lt;b&gt;</p>', text: '<b>' } }] } });
  t.ok(out.ms >= 0, 'the time the thread spent is reported, for the account to pay');
  t.equal(pool.threads, 1);
  t.notOk(liquidLoaded(), 'liquidjs is not in this thread');
});

t.test('the event loop runs while a template runs to its limit', async (t) => {
  const pool = new RenderPool({ threads: 1 });
  t.teardown(() => pool.close());
  await pool.run(render([version('warm')]));
  // A 5 ms timer keeps firing during a render that takes 100 ms or more (the part's render
  // limit). On the event loop, as before, it fired not once until the render was over.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  t.teardown(() => clearInterval(timer));
  const started = performance.now();
  const out = await pool.run(render([slow], { items }));
  const took = performance.now() - started;
  clearInterval(timer);
  t.match(
    out,
    { result: { ok: true, stopped: { index: 0, stage: 'render', problems: [{ message: /could not be rendered: .*limit/i }] } } },
    'the render ran to its limit: a 400',
  );
  t.ok(took >= 100, `it took ${Math.round(took)} ms`);
  t.ok(ticks >= 5, `the timer fired ${ticks} times meanwhile`);
});

t.test('a task that runs past the hard limit ends its thread, not the API, and the next task gets a new one', async (t) => {
  // 300 ms instead of 1 s: the mechanism, not the value (which render-pool.ts states and the API uses).
  const pool = new RenderPool({ threads: 1, hardLimitMs: 300, filename: new URL('./misbehaving-render-worker.js', import.meta.url) });
  t.teardown(() => pool.close());
  const spin = await pool.run({ kind: 'check', content: { subject: 'spin', html: null, text: null, variables: {} } });
  t.match(spin, { killed: 'time' });
  t.ok(spin.ms >= 300 && spin.ms < 5_000, `stopped after ${Math.round(spin.ms)} ms`);
  t.match(await pool.run(render([version('after {{ n }}', { n: { type: 'number', required: true } })], { n: 1 })), {
    result: { ok: true, rendered: [{ rendered: { text: 'after 1' } }] },
  });
});

t.test("a task that fills its thread's heap ends that thread, not the API", async (t) => {
  // A hard limit of 60 s instead of 1 s, so that only the heap can end this task: on a loaded host
  // (the fresh-clone CI run) filling 96 MB took longer than 1 s, and the time limit ended it first.
  const pool = new RenderPool({ threads: 1, hardLimitMs: 60_000, filename: new URL('./misbehaving-render-worker.js', import.meta.url) });
  t.teardown(() => pool.close());
  const before = process.memoryUsage().heapUsed;
  t.match(await pool.run({ kind: 'check', content: { subject: 'hog', html: null, text: null, variables: {} } }), {
    killed: 'memory',
  });
  t.ok(process.memoryUsage().heapUsed - before < 32e6, 'the API thread did not hold it');
  t.match(await pool.run(render([version('fine')])), { result: { ok: true } });
});

t.test('more tasks waiting than MAX_QUEUED_RENDERS: a 503 EMAIL_ERR_BUSY, and the queued ones still run', async (t) => {
  const pool = new RenderPool({ threads: 1, hardLimitMs: 300, filename: new URL('./misbehaving-render-worker.js', import.meta.url) });
  t.teardown(() => pool.close());
  const running = pool.run({ kind: 'check', content: { subject: 'spin', html: null, text: null, variables: {} } });
  const queued = Array.from({ length: 80 }, () =>
    pool.run(render([version('q')])).then(
      (out) => 'result' in out && out.result.ok,
      (error: { code?: string }) => error.code,
    ),
  );
  const results = await Promise.all(queued);
  t.equal(results.filter((r) => r === 'EMAIL_ERR_BUSY').length, 80 - 64, 'refused past the queue');
  t.equal(results.filter((r) => r === true).length, 64, 'the queued ones rendered');
  t.match(await running, { killed: 'time' });
});

t.test("one account's templates run one at a time, so one key fills one thread at most", async (t) => {
  const renderer = new TemplateRenderer(
    null as never,
    { maxSubjectLength: 998 },
    { requestBytes: 4 << 20, renderMsPerSecond: 1000, threads: 2 },
  );
  t.teardown(() => renderer.close());
  // What reaches the threads, and how many of account a's slow tasks are there at once.
  const pool = (renderer as unknown as { pool: RenderPool }).pool;
  const run = pool.run.bind(pool);
  let slowInFlight = 0;
  let mostSlowInFlight = 0;
  pool.run = async (work) => {
    const isSlow = work.kind === 'render' && work.versions[0] === slow;
    if (isSlow) mostSlowInFlight = Math.max(mostSlowInFlight, ++slowInFlight);
    try {
      return await run(work);
    } finally {
      if (isSlow) slowInFlight--;
    }
  };
  const render = (account: string, v: VersionSource, variables: Record<string, unknown>) =>
    renderer.render(account, [v], [{ version: 0, variables, at: '' }]).then(
      () => 'rendered',
      (error: { code?: string }) => error.code,
    );
  // Two threads: without turns, a's three slow renders would have taken both at once.
  const results = await Promise.all([
    render('a', slow, { items }),
    render('a', slow, { items }),
    render('a', slow, { items }),
    render('b', version('quick'), {}),
  ]);
  t.same(
    results,
    ['EMAIL_ERR_VALIDATION', 'EMAIL_ERR_VALIDATION', 'EMAIL_ERR_VALIDATION', 'rendered'],
    'each ran to its limit; b rendered',
  );
  t.equal(mostSlowInFlight, 1, "a's tasks reached the threads one at a time");
});

t.test('the rendered subject is checked by the API thread, and the 400 is the one a render after the other gave', async (t) => {
  const renderer = new TemplateRenderer(
    null as never,
    { maxSubjectLength: 998 },
    { requestBytes: 1_000, renderMsPerSecond: 1000, threads: 1 },
  );
  t.teardown(() => renderer.close());
  const v = (subject: string, text: string): VersionSource => ({
    key: null,
    subject,
    html: null,
    text,
    variables: { s: { type: 'string', required: true }, t: { type: 'string', required: true } },
  });
  const send = async (items: { s: string; t: string }[]) => {
    const versions = [v('{{ s }}', '{{ t }}')];
    const emails = items.map((variables, i) => ({ version: 0, variables, at: `/emails/${i}` }));
    return renderer.render('acct', versions, emails).then(
      (out) => out.map((o) => o.rendered),
      (error: { errors: unknown }) => error.errors,
    );
  };
  t.same(await send([{ s: 'Hi', t: 'body' }]), [{ subject: 'Hi', text: 'body' }], 'rendered');
  t.match(
    await send([
      { s: 'Hi', t: 'ok' },
      { s: 'Hi\r\nBcc: x@evil.example', t: 'ok' },
      { s: 'Hi', t: 'x'.repeat(2_000) },
    ]),
    [{ path: '/emails/1/template', message: /^the rendered subject / }],
    'a header line in a rendered subject is the first problem, before a later email passes the request bytes',
  );
  t.match(
    await send([{ s: '', t: '' }]),
    [
      { path: '/emails/0/template', message: /^the rendered subject / },
      { path: '/emails/0/template', message: 'renders an empty html and text' },
    ],
    "an email's subject problem comes first, with its parts' problems",
  );
  t.match(
    await send([{ s: '', t: 'x'.repeat(2_000) }]),
    [{ path: '/emails/0/template', message: /^the rendered subject / }],
    'a subject problem, not the request bytes, when one email has both',
  );
  t.same(
    await send([{ s: 'Hi', t: 'x'.repeat(2_000) }]),
    [{ path: '/emails/0/template', message: 'the request renders to more than 1000 bytes' }],
    'the request bytes, when the subject is fine',
  );
});
