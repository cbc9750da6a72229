// test-plan: standalone
import { createRequire } from 'node:module';
import t from 'tap';
import { deferModule } from '../../src/lazy-module.js';

const require = createRequire(import.meta.url);
const loads = () => (globalThis as { deferredFixtureLoads?: number }).deferredFixtureLoads ?? 0;

t.test('a deferred module loads on the first read of one of its exports, once, and then is the module itself', async (t) => {
  deferModule(import.meta.url, './deferred-fixture.cjs');
  const standIn = require('./deferred-fixture.cjs') as { answer: () => number };
  t.equal(loads(), 0, 'requiring it loads nothing');
  t.equal(standIn.answer(), 42, 'its export, from the real module');
  t.equal(loads(), 1);
  t.ok('answer' in standIn);
  const real = require('./deferred-fixture.cjs') as { answer: () => number };
  t.not(real, standIn, 'the cache now holds the real module');
  t.equal(real.answer(), 42);
  t.equal(loads(), 1, 'loaded once');
});

t.test('a module already loaded is left as it is', async (t) => {
  const before = require('./deferred-fixture.cjs');
  deferModule(import.meta.url, './deferred-fixture.cjs');
  t.equal(require('./deferred-fixture.cjs'), before);
  t.equal(loads(), 1);
});
