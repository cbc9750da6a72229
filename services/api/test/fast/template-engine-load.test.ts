// test-plan: standalone
import { createRequire } from 'node:module';
import t from 'tap';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';

// liquidjs has no ESM entry: imported from ESM, it lands in the CommonJS loader's cache.
const require = createRequire(import.meta.url);
const liquidLoaded = () => Object.keys(require.cache).some((path) => /[\\/]node_modules[\\/]liquidjs[\\/]/.test(path));

t.test(
  'the API loads the template engine with the first template, not at boot: an API that sends no template never carries it',
  async (t) => {
    t.notOk(liquidLoaded(), 'not loaded by the test itself');
    const { app } = await buildMemoryApi(t);
    await app.listen({ port: 0, host: '127.0.0.1' });
    // Time for an import started at boot (a dynamic one resolves in tens of milliseconds) to land.
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.notOk(liquidLoaded(), 'not loaded by a listening API');
    const { templateEngine } = await import('../../src/templates/engine.js');
    const engine = await templateEngine();
    t.equal(await templateEngine(), engine, 'loaded once');
    t.ok(liquidLoaded(), 'loaded for the first template');
    const compiled = engine.compile({ subject: 'Hi {{ name }}', html: '<p>{{ name }}</p>', text: null });
    t.same(engine.renderParts(compiled, { name: '<b>' }, Date.now() + 100), { subject: 'Hi <b>', html: '<p>&lt;b&gt;</p>' });
  },
);
