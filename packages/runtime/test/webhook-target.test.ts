// test-plan: standalone
import t from 'tap';
import { guardedLookup, isPublicAddress, type TargetPolicy, targetProblem } from '../src/webhook-target.js';

t.test('only public unicast addresses may receive webhooks', async (t) => {
  const refused = [
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    'fc00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'not-an-ip',
  ];
  for (const a of refused) t.notOk(isPublicAddress(a), `${a} refused`);
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:93.184.216.34']) t.ok(isPublicAddress(a), `${a} allowed`);
});

const policy = (answers: Record<string, string[]>, allowPrivate = false): TargetPolicy => ({
  allowPrivate,
  resolve: async (host) => {
    const list = answers[host];
    if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  },
});

t.test('registration: every address a host resolves to must be public', async (t) => {
  const p = policy({ 'ok.test': ['93.184.216.34'], 'mixed.test': ['93.184.216.34', '10.1.2.3'], 'meta.test': ['169.254.169.254'] });
  t.equal(await targetProblem(new URL('https://ok.test/hook'), p), null);
  t.match(await targetProblem(new URL('https://mixed.test/hook'), p), /10\.1\.2\.3/, 'one private answer is enough to refuse');
  t.match(await targetProblem(new URL('http://meta.test/'), p), /169\.254\.169\.254/);
  t.match(await targetProblem(new URL('http://[::1]:8080/'), p), /::1/, 'IP literals are checked as they are');
  t.match(await targetProblem(new URL('http://missing.test/'), p), /does not resolve/);
  t.match(await targetProblem(new URL('ftp://ok.test/'), p), /http or https/);
  t.match(await targetProblem(new URL('https://u:p@ok.test/'), p), /credentials/);
  t.equal(await targetProblem(new URL('http://127.0.0.1/'), policy({}, true)), null, 'WEBHOOK_ALLOW_PRIVATE=true allows it');
});

t.test('delivery: the lookup that http.request connects with refuses non-public answers', async (t) => {
  const lookup = guardedLookup(policy({ 'rebound.test': ['127.0.0.1'], 'ok.test': ['93.184.216.34', '10.0.0.1'] }));
  const ask = (host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      lookup(host, { all }, (err, address) => resolve({ err, address })),
    );
  const rebound = await ask('rebound.test', true);
  t.equal(rebound.err?.code, 'EADDRNOTALLOWED', 'a host that now resolves to loopback is not connected to');
  const single = await ask('rebound.test', false);
  t.equal(single.err?.code, 'EADDRNOTALLOWED');
  const ok = await ask('ok.test', true);
  t.same(ok.address, [{ address: '93.184.216.34', family: 4 }], 'only the public answers are offered to connect');
});
