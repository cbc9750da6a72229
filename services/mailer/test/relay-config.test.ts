// test-plan: standalone
import t from 'tap';
import { parseRelays } from '../src/relays/relay-config.js';
import { parseRoutes, relaysFor } from '../src/relays/routes.js';

t.test('SMTP_RELAYS: priority order, our parameters taken out of the URL, the first one preferred by default', async (t) => {
  const relays = parseRelays('smtps://u:p%2Cw@ses.example:465?name=ses&maxRate=14, smtp://backup.example:587?tls.rejectUnauthorized=false');
  t.same(relays, [
    { name: 'ses', url: 'smtps://u:p%2Cw@ses.example:465', weight: 1, maxRate: 14 },
    { name: 'relay2', url: 'smtp://backup.example:587?tls.rejectUnauthorized=false', weight: 0, maxRate: null },
  ]);
  t.same(
    parseRelays('smtp://a:25?weight=3,smtp://b:25?weight=1').map((r) => r.weight),
    [3, 1],
  );
  for (const [bad, why] of [
    ['', /is empty/],
    ['http://a', /smtp:\/\/ or smtps:\/\//],
    ['smtp://a?weight=-1', /weight must be a number ≥ 0/],
    ['smtp://a?maxRate=0', /maxRate must be a number > 0/],
    ['smtp://a?weight=0', /needs a relay with a weight above 0/],
    ['smtp://a?name=x,smtp://b?name=x', /names must be unique/],
    ['smtp://a?name=has space', /name must be/],
  ] as const) {
    t.throws(() => parseRelays(bad), { name: 'ConfigError', message: why }, bad || '(empty)');
  }
});

t.test('SMTP_ROUTES: by sender domain and/or tag, first match wins, failover order as listed', async (t) => {
  const relays = parseRelays('smtp://main:25?name=main,smtp://bulk:25?name=bulk,smtp://spare:25?name=spare');
  const routes = parseRoutes('tag:stream:marketing=bulk|spare; domain:news.example.com+tag:kind:digest=spare|bulk', relays);
  const names = (email: Parameters<typeof relaysFor>[2]) => relaysFor(routes, relays, email).map((r) => r.name);
  t.same(names({ from: { address: 'a@example.com' }, tags: { stream: 'marketing' } }), ['bulk', 'spare']);
  t.same(names({ from: { address: 'a@News.Example.com' }, tags: { kind: 'digest' } }), ['spare', 'bulk']);
  t.same(
    names({ from: { address: 'a@news.example.com' }, tags: { kind: 'other' } }),
    ['main', 'bulk', 'spare'],
    'both selectors must match',
  );
  t.same(names({ from: { address: 'a@example.com' } }), ['main', 'bulk', 'spare'], 'no rule: every relay');
  t.throws(() => parseRoutes('tag:stream:x=nope', relays), { message: /names relays not in SMTP_RELAYS: nope/ });
  t.throws(() => parseRoutes('sender:x=main', relays), { message: /is not domain:<domain> or tag:<name>:<value>/ });
  t.throws(() => parseRoutes('main', relays), { message: /must be <selector>=<relay>/ });
});
