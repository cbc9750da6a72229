import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { type DkimKeyring, dnsRecord, loadDkimKeys } from '../../services/mailer/src/dkim-keys.js';
import { TestDns } from './dns-server.js';

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

/** A fresh RSA private key in PEM (PKCS #8), as an operator would put in DKIM_KEYS_DIR. */
export const rsaPem = (bits = 2048): string =>
  generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/**
 * A temporary DKIM_KEYS_DIR holding a new key for each `<domain>.<selector>.pem` name, and a DNS
 * stub publishing each key's TXT record, where a receiver (dkimpy) looks for it. Both go at teardown.
 */
export async function publishedDkimKeys(t: Test, files: string[]): Promise<{ dir: string; keyring: DkimKeyring; dns: TestDns }> {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of files) writeFileSync(join(dir, name), rsaPem());
  const keyring = loadDkimKeys(dir);
  const dns = await new TestDns().start();
  t.teardown(() => dns.stop());
  for (const keys of keyring.domains.values())
    for (const key of keys) {
      const record = dnsRecord(key);
      dns.txt.set(record.name, record.value);
    }
  return { dir, keyring, dns };
}
