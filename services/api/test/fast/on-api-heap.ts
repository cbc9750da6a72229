import { spawn } from 'node:child_process';
import { serviceNodeArgs } from '../../../../packages/stack/src/node-options.js';
import { userNode } from '../../../../test/helpers/user-node.js';

const readers = {
  /** SMTP submission's parser: what it read of each message. */
  submission: {
    module: '../../dist/submission/lazy-parser.js',
    read: 'const parse = (await import(url)).lazyParser(); const read = (m) => parse(m).then((mail) => ({ html: (mail.html || "").length, text: (mail.text ?? "").length }));',
  },
  /** The bounce listener's report reader: the kind of each report. */
  report: {
    module: '../../dist/bounces/parse-report.js',
    read: 'const { parseReport } = await import(url); const read = (m) => parseReport(m).then((report) => ({ kind: report.kind }));',
  },
};

/**
 * Reads the messages all at once with the API's `reader`, in a process of its own with the API's
 * heap settings (node-options.ts, as `npm run api` and the image run it): its exit code, and for
 * each message what was read or the error's code.
 */
export async function readOnApiHeap(
  reader: keyof typeof readers,
  messages: string[],
): Promise<{ exit: number | null; results: unknown[] }> {
  const { module, read } = readers[reader];
  const code = `
    const url = ${JSON.stringify(new URL(module, import.meta.url).href)};
    ${read}
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const messages = Buffer.concat(chunks).toString('latin1').split('\\0');
    const results = await Promise.all(messages.map((m) => read(Buffer.from(m, 'latin1')).catch((error) => ({ error: error.code }))));
    console.log(JSON.stringify(results));`;
  const { exit, out } = await runOnApiHeap(code, Buffer.from(messages.join('\0'), 'latin1'));
  return { exit, results: out ? JSON.parse(out) : [] };
}

/**
 * Runs `code` (an ES module's text) in a process of its own with the API's node arguments
 * (node-options.ts, as `npm run api` and the image run it), `input` on its stdin: its exit code and
 * what it printed. Without tap's NODE_OPTIONS (user-node.ts): under them a piscina thread never
 * took a task.
 */
export async function runOnApiHeap(code: string, input = Buffer.alloc(0)): Promise<{ exit: number | null; out: string }> {
  const args = [...serviceNodeArgs('api'), '--input-type=module', '-e', code];
  const child = spawn(...userNode(args), { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin.end(input);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { exit, out };
}
