import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../packages/stack/src/paths.js';

/** The virtualenv scripts/test-tools.sh makes (dkimpy, dnspython). */
const PYTHON = join(repoRoot, 'node_modules/.cache/postline-python/bin/python');

export interface DkimResult {
  domain: string;
  selector: string;
  ok: boolean;
  error: string | null;
}

/** Every DKIM signature of each raw message, verified by dkimpy against the DNS server `dns` (host:port). */
export async function dkimVerify(dns: string, messages: (string | Buffer)[]): Promise<DkimResult[][]> {
  const input = JSON.stringify({ dns, messages: messages.map((m) => Buffer.from(m).toString('base64')) });
  const child = spawn(PYTHON, [join(import.meta.dirname, 'dkim_verify.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
    child.stdin.end(input);
  });
  if (code !== 0) throw new Error(`dkimpy failed (${code}): ${stderr.slice(-2000)}`);
  return JSON.parse(stdout);
}
