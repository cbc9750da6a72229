// test-plan: standalone
import { createServer } from 'node:net';
import type { Envelope } from '@postline/contracts';
import t, { type Test } from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { envelope, testSmtpSender } from '../../../test/helpers/mailer.js';
import { wallClock } from '../../../test/helpers/mock-clock.js';
import { SmtpSink } from '../../../test/helpers/smtp-sink.js';
import { parseRelays } from '../src/relays/relay-config.js';
import { createRelayPool, mayFailOver, type PoolOutcome, type RelayPool, relayBreaker } from '../src/relays/relay-pool.js';
import { RelayThrottle } from '../src/relays/relay-throttle.js';
import { parseRoutes } from '../src/relays/routes.js';

/** A port nothing listens on: connections are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function pool(t: Test, urls: string[], routes = '') {
  const specs = parseRelays(urls.join(','));
  const relays = specs.map((spec) => ({
    spec,
    breaker: relayBreaker(),
    throttle: new RelayThrottle(spec.maxRate, 8),
    sender: testSmtpSender(spec.url, { poolSize: 8, messageIdDomain: 'relay.test' }),
  }));
  const p = createRelayPool(relays, routes ? parseRoutes(routes, specs) : [], quietLogger);
  t.teardown(() => p.close());
  return Object.assign(p, { relays });
}

/** The pool's answer as an outcome (the test fails if it was a wait). */
async function sent(p: RelayPool, e: Envelope): Promise<PoolOutcome> {
  const o = await p.send(e);
  if ('wait' in o) throw new Error(`expected an outcome, got a wait: ${JSON.stringify(o)}`);
  return o;
}

async function sink(t: Test) {
  const s = await new SmtpSink().start();
  t.teardown(() => s.stop());
  return s;
}

t.test('the first relay refuses connections: every email goes through the second, each once', async (t) => {
  const second = await sink(t);
  const p = pool(t, [`smtp://127.0.0.1:${await closedPort()}?name=first`, `${second.url}?name=second`]);
  const emails = Array.from({ length: 20 }, () => envelope());
  const outcomes = await Promise.all(emails.map((e) => sent(p, e)));
  t.ok(
    outcomes.every((o) => o.kind === 'sent' && o.relay === 'second'),
    'all sent by the second',
  );
  t.same(outcomes[0]?.tried, [
    { relay: 'first', kind: 'unavailable' },
    { relay: 'second', kind: 'sent' },
  ]);
  t.equal(second.received.length, 20);
  t.equal(new Set(second.received.map((r) => r.messageId)).size, 20, 'each once');
});

t.test('a 4xx before DATA fails over; the connection dropped after DATA does not: uncertain, on the first relay only', async (t) => {
  const first = await sink(t);
  const second = await sink(t);
  const p = pool(t, [`${first.url}?name=first`, `${second.url}?name=second`]);

  first.behaviour = () => 'drop';
  const dropped = await sent(p, envelope());
  t.equal(dropped.kind, 'uncertain');
  t.same(dropped.tried, [{ relay: 'first', kind: 'uncertain' }], 'never tried on the second relay');
  t.equal(second.received.length, 0, 'nothing reached the second relay');

  // The drop also opened the first relay's breaker: the pinned retry waits for it, it does not move.
  const pinned = envelope({ relay: dropped.relay });
  t.match(await p.send(pinned), { reason: 'open' }, 'the pinned retry waits while its relay is down');
  first.behaviour = () => 'accept';
  await new Promise((resolve) => setTimeout(resolve, 600));
  const again = await sent(p, pinned);
  t.match(again, { kind: 'sent', relay: 'first' }, 'and then goes to the same relay');
  t.equal(second.received.length, 0, 'never to the second');

  first.behaviour = () => ({ code: 452, message: '4.3.1 Insufficient system storage' });
  const afterData = await sent(p, envelope());
  t.match(afterData, { kind: 'transient', relay: 'first', beforeData: false }, 'a 4xx to the end of DATA is not before DATA: no failover');
});

t.test('mayFailOver: only what cannot have been delivered', async (t) => {
  t.ok(mayFailOver({ kind: 'unavailable', error: 'ECONNREFUSED' }));
  t.ok(mayFailOver({ kind: 'transient', error: '', response: '451', beforeData: true }));
  t.notOk(mayFailOver({ kind: 'transient', error: '', response: '451', beforeData: false }));
  t.notOk(mayFailOver({ kind: 'uncertain', error: 'dropped' }));
  t.notOk(mayFailOver({ kind: 'permanent', error: '', response: '550' }));
});

t.test('a 4xx at RCPT fails over to the next relay', async (t) => {
  const first = await sink(t);
  const second = await sink(t);
  const p = pool(t, [`${first.url}?name=first`, `${second.url}?name=second`]);

  const e = envelope({}, { to: 'busy@example.net' });
  first.refuseRecipients.set('busy@example.net', { code: 450, message: '4.2.1 Mailbox busy' });
  const moved = await sent(p, e);
  t.match(moved, { kind: 'sent', relay: 'second' });
  t.same(moved.tried, [
    { relay: 'first', kind: 'transient' },
    { relay: 'second', kind: 'sent' },
  ]);
  t.equal(second.received.filter((r) => r.messageId === moved.messageId).length, 1, 'received once, by the second');
  t.equal(first.received.length, 0);
});

t.test("a 421 greeting opens that relay's breaker alone: its emails go to the next without trying it", async (t) => {
  const first = await sink(t);
  const second = await sink(t);
  first.refuseConnections = { code: 421, message: '4.3.2 Service shutting down' };
  const p = pool(t, [`${first.url}?name=first`, `${second.url}?name=second`]);
  const a = await sent(p, envelope());
  t.same(
    a.tried.map((x) => x.relay),
    ['first', 'second'],
  );
  const sessions = first.sessions;
  const b = await sent(p, envelope());
  t.same(
    b.tried.map((x) => x.relay),
    ['second'],
    'the first relay is skipped while its breaker is open',
  );
  t.equal(first.sessions, sessions, 'not even a connection to it');
  t.equal(p.waitMs(envelope()), 0, 'the route as a whole is up');
});

t.test('every relay of the route down: unavailable, then a wait (nothing is sent anywhere)', async (t) => {
  const p = pool(t, [`smtp://127.0.0.1:${await closedPort()}?name=a`, `smtp://127.0.0.1:${await closedPort()}?name=b`]);
  const first = await p.send(envelope());
  t.match(first, { kind: 'unavailable' });
  const next = await p.send(envelope());
  t.match(next, { reason: 'open' });
  t.ok(p.waitMs(envelope()) > 0, 'the record handler defers before claiming');
});

t.test('AIMD: a relay answering 454 above 20/s is paced near 20/s, without a storm; another relay is not slowed', async (t) => {
  const limited = await sink(t);
  const free = await sink(t);
  limited.throttleAbovePerSecond = 20;
  const p = pool(t, [`${limited.url}?name=limited`, `${free.url}?name=free`], 'tag:stream:bulk=limited; domain:example.com=free');
  const started = Date.now();
  const runFor = 10_000;
  const free_ = { waits: 0, notSent: 0, sent: 0 };
  // 16 workers offer bulk mail as fast as the pool takes it (the retry topic's part is played by
  // the loop: a paced email comes back at its slot, a 454 one second later).
  const bulk = async () => {
    while (Date.now() - started < runFor) {
      const o = await p.send(envelope({}, { tags: { stream: 'bulk' } }));
      if ('wait' in o) await new Promise((r) => setTimeout(r, o.wait));
      else if (o.kind !== 'sent') await new Promise((r) => setTimeout(r, 1_000));
    }
  };
  // Transactional mail to the other relay at about 30/s all along.
  const transactional = async () => {
    while (Date.now() - started < runFor) {
      const o = await p.send(envelope());
      if ('wait' in o) free_.waits++;
      else if (o.kind === 'sent') free_.sent++;
      else free_.notSent++;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await Promise.all([...Array.from({ length: 16 }, bulk), transactional(), transactional(), transactional()]);
  const limiter = p.relays.find((r) => r.spec.name === 'limited')!.throttle;
  // Accepted per second over the last 5 s, once the rate had time to settle.
  const lastFive = limited.mailTimes.filter((m) => m >= started + runFor - 5_000 && m < started + runFor).length / 5;
  const offered = limited.mailTimes.length + limited.throttled;
  t.ok(lastFive >= 8 && lastFive <= 21, `accepted ${lastFive.toFixed(1)}/s over the last 5 s (band 8-21/s for a 20/s limit)`);
  t.ok(limited.throttled <= offered * 0.15, `454 replies ${limited.throttled} of ${offered} tries (no storm: at most 15 %)`);
  t.ok(limiter.rate !== null && limiter.rate <= 30, `paced at ${limiter.rate?.toFixed(1)}/s`);
  t.equal(free_.waits, 0, 'the other relay never made an email wait');
  t.equal(free_.notSent, 0, 'nor failed one');
  t.equal(p.relays.find((r) => r.spec.name === 'free')!.throttle.rate, null, 'and is not paced');
  t.equal(free.received.length, free_.sent, `the other relay took all ${free_.sent} emails offered to it meanwhile`);
});

t.test("maxRate counts recipients: an email to three at 1/s holds the relay's next slot 3 s away", async (t) => {
  const s = await sink(t);
  const p = pool(t, [`${s.url}?name=ses&maxRate=1`]);
  const three = envelope({}, { to: ['a@example.net', 'b@example.net'], cc: 'c@example.net' });
  t.match(await sent(p, three), { kind: 'sent' }, 'the first email goes at once');
  const next = await p.send(envelope());
  t.match(next, { reason: 'throttled' }, 'the next one is not sent now');
  // Three slots at 1/s less the first send's own time (at most 2 s even on a loaded host); counted once, it was 1 s.
  const wait = (next as { wait: number }).wait;
  t.ok(wait > 1_000 && wait <= 3_000, `its slot is ${wait} ms away: after three recipients at 1/s, not one`);
  // A retry to the one recipient left counts one.
  await new Promise((resolve) => setTimeout(resolve, wait));
  t.match(await p.send(three, ['c@example.net']), { kind: 'sent' });
  // Its one slot is at most 1 s away: within MAX_SLOT_WAIT_MS, so the next email waits in place and goes.
  t.match(await p.send(envelope()), { kind: 'sent' }, 'after a send to one, the next waits in place and is sent');
});

t.test("the wall clock stepped back an hour: a paced relay's next slot is still a second away, not an hour", async (t) => {
  const wall = wallClock(t);
  const s = await sink(t);
  const p = pool(t, [`${s.url}?name=ses&maxRate=1`]);
  t.match(await sent(p, envelope()), { kind: 'sent' });
  wall.step(-3_600_000);
  const next = await p.send(envelope());
  // Slots measured on Date.now() put this one an hour away: the email went to the retry topic for it.
  t.ok('kind' in next || next.wait <= 1_000, `the next email is sent or waits at most 1 s (${JSON.stringify(next)})`);
});
