// test-plan: standalone
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { rsaPem } from '../../../test/helpers/dkim-verify.js';
import { loadConfig } from '../src/config.js';
import { dnsRecord, loadDkimKeys, unsignedDomains } from '../src/dkim-keys.js';

function keysDir(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, pem] of Object.entries(files)) writeFileSync(join(dir, name), pem);
  return dir;
}

t.test('keys by domain and selector; a subdomain signs with its parent’s key; every selector of a domain signs', async (t) => {
  const dir = keysDir(t, { 'example.com.s2026a.pem': rsaPem(), 'example.com.s2026b.pem': rsaPem(), 'mail.example.org.k1.pem': rsaPem() });
  // A Kubernetes secret mount: hidden entries and links to them are skipped.
  mkdirSync(join(dir, '..2026_11_30'));
  symlinkSync('..2026_11_30', join(dir, '..data'));
  const ring = loadDkimKeys(dir);
  t.same(
    ring.keysFor('example.com').map((k) => `${k.keySelector}.${k.domainName}`),
    ['s2026a.example.com', 's2026b.example.com'],
  );
  t.same(
    ring.keysFor('News.Example.COM').map((k) => k.domainName),
    ['example.com', 'example.com'],
    'a subdomain: the parent’s key (relaxed DMARC alignment)',
  );
  t.same(ring.keysFor('example.org'), [], 'a parent never uses a subdomain’s key');
  t.equal(ring.keysFor('mail.example.org')[0]?.keySelector, 'k1');
  t.same(ring.keysFor('com'), [], 'never a bare top-level domain');
  t.same(unsignedDomains(ring, ['example.com', 'b.example.com', 'example.org']), ['example.org']);
  const record = dnsRecord(ring.keysFor('example.com')[0]!);
  t.equal(record.name, 's2026a._domainkey.example.com');
  t.match(record.value, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
});

t.test('a misnamed file, a non-RSA key, a short key or a missing directory stops the boot with one sentence', async (t) => {
  t.throws(() => loadDkimKeys(keysDir(t, { 'example.com.pem': rsaPem() })), {
    name: 'ConfigError',
    message: /example\.com\.pem, which is not named <domain>\.<selector>\.pem/,
  });
  t.throws(() => loadDkimKeys(keysDir(t, { 'example.com.s1.pem': 'not a key' })), {
    message: /example\.com\.s1\.pem is not a PEM private key/,
  });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  t.throws(() => loadDkimKeys(keysDir(t, { 'example.com.s1.pem': ec })), { message: /must be an RSA key of at least 1024 bits/ });
  t.throws(() => loadDkimKeys(keysDir(t, { 'example.com.s1.pem': rsaPem(768) })), { message: /must be an RSA key/ });
  t.throws(() => loadDkimKeys('/nonexistent/dkim'), { message: /DKIM_KEYS_DIR \/nonexistent\/dkim cannot be read \(ENOENT\)/ });
});

t.test('DKIM_REQUIRED: every sender domain needs a key, or the mailer does not start', async (t) => {
  const dir = keysDir(t, { 'example.com.s1.pem': rsaPem() });
  const env = {
    NODE_ENV: 'test',
    KAFKA_BROKERS: 'localhost:9092',
    DATABASE_URL: 'postgres://x@localhost/x',
    SMTP_URL: 'smtp://localhost:25',
  };
  t.throws(() => loadConfig({ ...env, SENDER_DOMAINS: 'example.com,example.org', DKIM_KEYS_DIR: dir, DKIM_REQUIRED: 'true' }), {
    name: 'ConfigError',
    message: /DKIM_REQUIRED is true but DKIM_KEYS_DIR has no key for example\.org/,
  });
  const ok = loadConfig({ ...env, SENDER_DOMAINS: 'example.com', DKIM_KEYS_DIR: dir, DKIM_REQUIRED: 'true' });
  t.equal(ok.dkim.keysFor('example.com').length, 1);
  t.equal(loadConfig({ ...env }).dkim.domains.size, 0, 'no DKIM_KEYS_DIR: no keys, mail is sent unsigned');
});
