// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { seededRandom as random } from '../../../test/helpers/seeded-random.js';

const require = createRequire(import.meta.url);
const repoRoot = join(import.meta.dirname, '../../..');
const { ENCODER_PATCH_MARKER } = (await import(pathToFileURL(join(repoRoot, 'scripts/patch-kafkajs.mjs')).href)) as {
  ENCODER_PATCH_MARKER: string;
};

// biome-ignore lint/suspicious/noExplicitAny: kafkajs' Encoder is untyped JavaScript.
type Encoder = any;
type EncoderClass = new () => Encoder;

const encoderFile = require.resolve('kafkajs/src/protocol/encoder.js');
const patchedText = readFileSync(encoderFile, 'utf8');
const Patched = require(encoderFile) as EncoderClass;

/** kafkajs' own class: the installed file up to the patch, compiled where it lies so its requires resolve. */
function unpatched(): EncoderClass {
  const at = patchedText.indexOf(`\n// ${ENCODER_PATCH_MARKER}`);
  if (at < 0) throw new Error('the installed encoder is not patched');
  const m = new Module(encoderFile) as Module & { _compile(text: string, file: string): void; paths: string[] };
  m.filename = encoderFile;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(encoderFile));
  m._compile(patchedText.slice(0, at), encoderFile);
  return m.exports as EncoderClass;
}
const Original = unpatched();

// Sizes around the patch's 64 KiB threshold, and large ones.
const SIZES = [0, 1, 5, 511, 512, 513, 4096, 65_535, 65_536, 65_537, 100_000, 300_000, 1_100_000];

/**
 * One random encoding, done on both classes by the same steps: the same calls, each with the same
 * arguments, and nested encoders written into their parents (sometimes written to again after).
 */
function encodeBoth(seed: number): { original: Buffer; patched: Buffer; sizes: [number, number] } {
  const rnd = random(seed);
  // At most about 4 MB of values per encoding, so that nesting stays bounded.
  let budget = 4_000_000;
  const size = () => {
    const n = SIZES[Math.floor(rnd() * SIZES.length)] as number;
    if (n > budget) return 3;
    budget -= n;
    return n;
  };
  const bytes = (n: number) => Buffer.alloc(n, Math.floor(rnd() * 256));
  const build = (depth: number): [Encoder, Encoder] => {
    const pair: [Encoder, Encoder] = [new Original(), new Patched()];
    const both = (call: (e: Encoder) => void) => {
      for (const e of pair) call(e);
    };
    const steps = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < steps; i++) {
      const op = Math.floor(rnd() * (depth < 3 ? 13 : 10));
      const n = size();
      if (op === 0) both((e) => e.writeInt8(-3));
      else if (op === 1) both((e) => e.writeInt32(n));
      else if (op === 2) both((e) => e.writeInt64(n * 1_000_003));
      else if (op === 3) {
        const b = bytes(n);
        both((e) => e.writeBytes(b));
      } else if (op === 4) {
        const s = 'é'.repeat(Math.min(n, 16_000));
        both((e) => e.writeString(s));
      } else if (op === 5) {
        const b = bytes(n);
        both((e) => e.writeVarIntBytes(b));
      } else if (op === 6) {
        const s = 'x'.repeat(n);
        both((e) => e.writeVarIntBytes(s));
      } else if (op === 7) both((e) => e.writeUVarInt(n));
      else if (op === 8) both((e) => e.writeVarLong(-n));
      else if (op === 9) {
        // A buffer asked for midway: it joins what is held, and writing goes on after.
        const [o, p] = pair;
        if (!o.buffer.equals(p.buffer)) throw new Error(`seed ${seed}: buffers differ midway`);
      } else if (op === 10) {
        const child = build(depth + 1);
        pair.forEach((e, k) => {
          e.writeEncoder(child[k]);
        });
        // The child written to after its parent took it: the parent must not change.
        if (rnd() < 0.5) {
          const more = Buffer.alloc(size(), 7);
          for (const c of child) c.writeBytes(more);
        }
      } else if (op === 11) {
        const children = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => build(depth + 1));
        pair.forEach((e, k) => {
          e.writeArray(
            children.map((c) => c[k]),
            'object',
          );
        });
      } else {
        const children = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => build(depth + 1));
        pair.forEach((e, k) => {
          e.writeVarIntArray(
            children.map((c) => c[k]),
            'object',
          );
        });
      }
    }
    return pair;
  };
  const [o, p] = build(0);
  const sizes: [number, number] = [o.size(), p.size()];
  return { original: o.buffer, patched: p.buffer, sizes };
}

t.test('the installed kafkajs encoder is patched', async (t) => {
  t.match(patchedText, ENCODER_PATCH_MARKER);
  t.not(Original.prototype.writeEncoder, Patched.prototype.writeEncoder, 'two different classes are compared');
});

t.test('random encodings: the same bytes and sizes as kafkajs’ own encoder', async (t) => {
  let differ = 0;
  let held = 0;
  let total = 0;
  for (let seed = 1; seed <= 250; seed++) {
    const { original, patched, sizes } = encodeBoth(seed);
    total += patched.length;
    if (patched.length >= 65_536) held++;
    if (!original.equals(patched) || sizes[0] !== sizes[1] || sizes[0] !== original.length) {
      differ++;
      t.fail(`seed ${seed}: ${original.length} against ${patched.length} bytes, sizes ${sizes}`);
    }
  }
  t.equal(differ, 0, '250 encodings, nested up to 4 levels');
  t.ok(held > 100, `${held} of them held a piece of 64 KiB or more (${(total / 1e6).toFixed(0)} MB in all)`);
});

t.test('a produce request with a 4 MB record is held, not copied, until its one buffer', async (t) => {
  const produce = require('kafkajs/src/protocol/requests/produce/v7/request.js');
  const frame = require('kafkajs/src/protocol/request.js');
  const value = JSON.stringify({ text: 'é'.repeat(2 * 1024 * 1024) });
  const messages = [
    { key: 'a', value, headers: { v: '1' } },
    { key: 'b', value: 'small', headers: {} },
  ];
  const request = produce({
    acks: -1,
    timeout: 30_000,
    compression: 0,
    topicData: [{ topic: 'emails', partitions: [{ partition: 3, firstSequence: 0, messages }] }],
  });
  const encoded = await frame({ correlationId: 7, clientId: 'api', request });
  t.ok(encoded.held.length > 1, 'the request holds its pieces');
  const whole: Buffer = encoded.buffer;
  t.equal(whole.readInt32BE(0), whole.length - 4, 'the frame’s length prefix counts the held pieces');
  t.equal(encoded.held, undefined, 'joined once asked for');
  t.ok(encoded.buffer.buffer === whole.buffer, 'and not joined again: the same memory');
  t.ok(whole.includes(Buffer.from(value)), 'the record’s value is in it whole');
});
