// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { seededRandom as random } from '../../../test/helpers/seeded-random.js';

const require = createRequire(import.meta.url);
const repoRoot = join(import.meta.dirname, '../../..');
const { RECORD_BATCH_PATCH } = (await import(pathToFileURL(join(repoRoot, 'scripts/kafkajs-record-batch-patch.mjs')).href)) as {
  RECORD_BATCH_PATCH: { original: string; patched: string; marker: string };
};

// biome-ignore lint/suspicious/noExplicitAny: kafkajs' encoders are untyped JavaScript.
type Encoder = any;
type RecordBatchFn = (options: Record<string, unknown>) => Promise<Encoder>;

const batchFile = require.resolve('kafkajs/src/protocol/recordBatch/v0/index.js');
const patchedText = readFileSync(batchFile, 'utf8');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: Record<string, unknown>) => Encoder;
const Patched = (require(batchFile) as { RecordBatch: RecordBatchFn }).RecordBatch;

let refused = 0;

/** The installed file compiled where it lies (its requires resolve) from `text`; requiring `refuse` throws. */
function compile(text: string, refuse?: string): RecordBatchFn {
  const m = new Module(batchFile) as Module & { _compile(text: string, file: string): void; paths: string[] };
  m.filename = batchFile;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(batchFile));
  if (refuse) {
    // Node's `require` inside a module calls its module's `require` method.
    m.require = ((id: string) => {
      if (id === refuse) {
        refused++;
        throw new Error(`Cannot find module '${id}'`);
      }
      return Module.prototype.require.call(m, id);
    }) as NodeJS.Require;
  }
  m._compile(text, batchFile);
  return (m.exports as { RecordBatch: RecordBatchFn }).RecordBatch;
}

/** kafkajs' own RecordBatch: the patched text put back. */
const Original = compile(patchedText.replace(RECORD_BATCH_PATCH.patched, RECORD_BATCH_PATCH.original));

// Around the encoder patch's 64 KiB threshold, and large ones.
const SIZES = [0, 1, 700, 65_535, 65_536, 65_537, 300_000, 1_500_000];

/** The options of one random batch; its records are built anew by `records()` (an encoder is written once). */
function randomBatch(seed: number): { options: Record<string, unknown>; records: () => Encoder[]; values: Buffer[] } {
  const rnd = random(seed);
  const values = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => {
    const n = SIZES[Math.floor(rnd() * SIZES.length)] as number;
    const value = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 997) value[i] = Math.floor(rnd() * 256);
    return value.fill(Math.floor(rnd() * 256), 0, Math.min(n, 50));
  });
  const records = () =>
    values.map((value, offsetDelta) =>
      Record({ offsetDelta, timestampDelta: offsetDelta * 3, key: `k${offsetDelta}`, value, headers: { v: '1' } }),
    );
  const options = {
    firstTimestamp: 1_700_000_000_000 + seed,
    maxTimestamp: 1_700_000_000_009 + seed,
    lastOffsetDelta: values.length - 1,
    producerId: require('kafkajs/src/utils/long').fromValue(seed * 11),
    producerEpoch: seed % 7,
    firstSequence: seed * 3,
    // GZIP (1) now and then: the compressed records are then the body's one large piece.
    compression: rnd() < 0.2 ? 1 : 0,
  };
  return { options, records, values };
}

t.test('the installed record batch is patched, and its original is what the script replaces', async (t) => {
  t.match(patchedText, RECORD_BATCH_PATCH.marker);
  t.ok(patchedText.includes(RECORD_BATCH_PATCH.patched), 'the patched text is in the installed file whole');
  t.not(Original, Patched, 'two different functions are compared');
});

t.test("random batches: the same bytes as kafkajs' own RecordBatch", async (t) => {
  let differ = 0;
  let large = 0;
  for (let seed = 1; seed <= 120; seed++) {
    const { options, records, values } = randomBatch(seed);
    const original: Buffer = (await Original({ ...options, records: records() })).buffer;
    const patched: Buffer = (await Patched({ ...options, records: records() })).buffer;
    if (values.some((v) => v.length >= 65_536)) large++;
    if (!original.equals(patched)) {
      differ++;
      t.fail(`seed ${seed}: ${original.length} against ${patched.length} bytes`);
    }
  }
  t.equal(differ, 0, '120 batches of 1-4 records, some compressed');
  t.ok(large > 60, `${large} of them had a record of 64 KiB or more`);
});

t.test('a 4 MB record stays in its own memory through the batch, and the CRC is over the whole body', async (t) => {
  const value = Buffer.alloc(4 * 1024 * 1024, 'é');
  const options = { lastOffsetDelta: 1, firstTimestamp: 1, maxTimestamp: 2 };
  const make = () => [Record({ key: 'a', value }), Record({ offsetDelta: 1, key: 'b', value: 'small' })];
  const batch = await Patched({ ...options, records: make() });
  const pieces: Buffer[] = batch.pieces();
  t.ok(
    pieces.some((p) => p.buffer === value.buffer && p.byteOffset === value.byteOffset && p.length === value.length),
    'the value itself is one of the batch’s pieces: not copied',
  );
  const whole: Buffer = batch.buffer;
  t.ok(whole.equals((await Original({ ...options, records: make() })).buffer), "the bytes are kafkajs' own");
  // RecordBatch: FirstOffset int64, Length int32, PartitionLeaderEpoch int32, Magic int8, CRC uint32, then the body.
  t.equal(whole.readInt32BE(8), whole.length - 12, 'the length prefix counts every piece');
  const { crc32c } = require('@node-rs/crc32') as { crc32c: (b: Buffer) => number };
  t.equal(whole.readUInt32BE(17), crc32c(whole.subarray(21)), 'the CRC is the whole body’s');
});

t.test("where @node-rs/crc32 cannot load, the body is joined and kafkajs' CRC entry gives the same bytes", async (t) => {
  const WithoutNative = compile(patchedText, '@node-rs/crc32');
  t.equal(refused, 1, 'the patched module asked for @node-rs/crc32 and was refused');
  for (let seed = 200; seed < 230; seed++) {
    const { options, records } = randomBatch(seed);
    const without: Buffer = (await WithoutNative({ ...options, records: records() })).buffer;
    const original: Buffer = (await Original({ ...options, records: records() })).buffer;
    if (!without.equals(original)) t.fail(`seed ${seed}: the bytes differ`);
  }
  t.pass('30 batches');
});
