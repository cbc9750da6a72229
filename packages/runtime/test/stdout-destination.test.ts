// test-plan: standalone
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { userNode } from '../../../test/helpers/user-node.js';

const runtime = join(import.meta.dirname, '../dist/index.js');

// A service's logger as it runs (no destination, stdout not a terminal) logs 40 MB of lines in
// bursts, then reports what it dropped and its heap, waits for its drop warning, and exits.
const child = `
import { createLogger, droppedLogLines, STDOUT_BUFFER_BYTES } from ${JSON.stringify(runtime)};
const log = createLogger({ name: 'stalled', level: 'info' });
const pad = 'x'.repeat(400);
globalThis.gc();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < 100_000; i++) {
  log.info({ i, pad }, 'line');
  if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
}
globalThis.gc();
process.stderr.write(JSON.stringify({ dropped: droppedLogLines(), heapGrowth: process.memoryUsage().heapUsed - heapBefore, bound: STDOUT_BUFFER_BYTES }) + '\\n');
process.stdin.once('data', () => setTimeout(() => process.exit(0), 11_000)); // the warning comes 10 s after a drop
process.stdin.once('end', () => process.exit(0));
`;

function startStalled(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'stdout-'));
  const fifo = join(dir, 'stdout');
  execFileSync('mkfifo', [fifo]);
  // A reader that takes nothing: a log driver that stalled.
  const stalledReader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const out = openSync(fifo, 'w');
  const proc = spawn(...userNode(['--expose-gc', '--input-type=module', '-e', child]), { stdio: ['pipe', out, 'pipe'] });
  closeSync(out);
  const { stdin, stderr: errors } = proc;
  if (!stdin || !errors) throw new Error('the child has no stdin or stderr pipe');
  t.teardown(() => {
    proc.kill('SIGKILL');
    closeSync(stalledReader);
    rmSync(dir, { recursive: true, force: true });
  });
  let stderr = '';
  errors.on('data', (c) => (stderr += c));
  const report = new Promise<{ dropped: number; heapGrowth: number; bound: number }>((resolve, reject) => {
    errors.on('data', () => stderr.includes('\n') && resolve(JSON.parse(stderr.split('\n')[0] as string)));
    proc.once('exit', (code) => reject(new Error(`exited ${code} before its report: ${stderr}`)));
  });
  return { proc, stdin, fifo, report };
}

t.test('an unread stdout costs log lines, not the heap, and a stuck exit', async (t) => {
  const { proc, stdin, report } = startStalled(t);
  const { dropped, heapGrowth, bound } = await report;
  t.ok(dropped > 50_000, `most of the 40 MB of lines were dropped (${dropped} of 100,000)`);
  // Unbounded, the heap grew by the 45 MB of lines; bounded, by the 8 MiB it holds and a little.
  t.ok(heapGrowth < bound + 8 * 2 ** 20, `the heap grew by at most the bound's lines (${(heapGrowth / 2 ** 20).toFixed(1)} MB)`);
  // The reader never came back: the exit gives up the held lines instead of waiting on it.
  const started = Date.now();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  stdin.end();
  t.equal(await exited, 0);
  t.ok(Date.now() - started < 5_000, `exited in ${Date.now() - started} ms`);
});

t.test('once the reader takes lines again, they are whole and a warning counts the dropped ones', async (t) => {
  const { stdin, fifo, report } = startStalled(t);
  const { dropped } = await report;
  t.ok(dropped > 0, `${dropped} lines dropped`);
  const cat = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  cat.stdout.on('data', (c) => (text += c));
  stdin.write('go\n');
  await new Promise((resolve) => cat.once('close', resolve));
  const lines = text.split('\n').filter((l) => l !== '');
  const parsed = lines.map((l) => JSON.parse(l) as { msg: string; droppedLines?: number; i?: number });
  t.ok(parsed.length > 1_000, `${parsed.length} whole lines written`);
  const warning = parsed.find((l) => l.msg === 'log lines dropped: stdout was not read');
  t.equal(warning?.droppedLines, dropped, 'the warning counts every line dropped');
  t.equal(parsed.filter((l) => l.msg === 'line').length + dropped, 100_000, 'each line was written whole or dropped whole');
});
