// test-plan: standalone
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { CompiledCache, MAX_CACHED_CHARS } from '../../src/templates/compiled-cache.js';
import type { CompiledParts } from '../../src/templates/liquid-engine.js';
import * as engine from '../../src/templates/liquid-engine.js';

// A full collection before each heap reading, so the growth is what is kept, not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const parts = (): CompiledParts => ({ subject: [], html: null, text: null });

t.test('CompiledCache: least recently used out first, bounded by the characters of source it holds', async (t) => {
  const cache = new CompiledCache();
  let compiles = 0;
  const get = (key: string, chars: number) =>
    cache.get(key, chars, () => {
      compiles++;
      return parts();
    });
  const quarter = MAX_CACHED_CHARS / 4;
  for (const key of ['a', 'b', 'c', 'd']) get(key, quarter);
  t.equal(cache.heldChars, MAX_CACHED_CHARS, 'full to the character');
  get('a', quarter);
  t.equal(compiles, 4, 'a hit compiles nothing');
  get('e', quarter);
  t.equal(cache.size, 4);
  t.equal(cache.heldChars, MAX_CACHED_CHARS);
  get('a', quarter);
  t.equal(compiles, 5, 'a, used last, was kept');
  get('b', quarter);
  t.equal(compiles, 6, 'b, the least recently used, was dropped for e');
  get('huge', MAX_CACHED_CHARS + 1);
  t.equal(cache.size, 0, 'a version larger than the whole bound is compiled, and not kept');
  t.equal(cache.heldChars, 0);
});

t.test('CompiledCache: 100 versions of the largest size hold no more than the bound', async (t) => {
  // Three parts of 512 KiB each (the source limit). Kept by count alone (500 before), these 100
  // would keep 150 MB of source alive through their compiled tokens.
  const cache = new CompiledCache();
  const part = 512 * 1024 - 16;
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100; i++) {
    const source = (c: string) => `${i}`.padStart(6, '0') + c.repeat(part) + '{{ x }}';
    const version = { subject: source('s'), html: source('h'), text: source('t') };
    cache.get(`tmpl_${i}@1`, version.subject.length + version.html.length + version.text.length, () => engine.compile(version));
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  t.ok(cache.heldChars <= MAX_CACHED_CHARS, `${cache.heldChars} characters held`);
  t.ok(cache.size < 100, `${cache.size} versions kept`);
  t.ok(grown < 64e6, `the heap grew by ${Math.round(grown / 1e6)} MB`);
});
