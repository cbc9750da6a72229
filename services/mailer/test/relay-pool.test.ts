import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { envelope } from '../../../test/helpers/mailer.js';
import { SmtpSink } from '../../../test/helpers/smtp-sink.js';
import { emptyKeyring } from '../src/dkim-keys.js';
import { parseRelays } from '../src/relays/relay-config.js';
import { createRelayPool, mayFailOver } from '../src/relays/relay-pool.js';
import { createSmtpSender } from '../src/smtp-sender.js';

/** A port nothing listens on: connections are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function pool(t: Test, urls: string[]) {
  const specs = parseRelays(urls.join(','));
  const relays = specs.map((spec) => ({
    spec,
    sender: createSmtpSender(
      {
        url: spec.url,
        poolSize: 2,
        timeoutMs: 1_000,
        sendTimeoutMs: 3_000,
        rejectUnauthorized: false,
        messageIdDomain: 'relay.test',
        dkim: emptyKeyring,
        dkimRequired: false,
      },
      quietLogger,
    ),
  }));
  const p = createRelayPool(relays, [], quietLogger);
  t.teardown(() => p.close());
  return p;
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
  const outcomes = await Promise.all(emails.map((e) => p.send(e)));
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
  const dropped = await p.send(envelope());
  t.equal(dropped.kind, 'uncertain');
  t.same(dropped.tried, [{ relay: 'first', kind: 'uncertain' }], 'never tried on the second relay');
  t.equal(second.received.length, 0, 'nothing reached the second relay');

  const e = envelope();
  const again = await p.send(e, undefined, dropped.relay);
  t.equal(again.relay, 'first', 'its retry is pinned to the same relay');

  first.behaviour = () => ({ code: 451, message: '4.3.0 try later' });
  const afterData = await p.send(envelope());
  t.match(afterData, { kind: 'transient', relay: 'first', beforeData: false }, 'a 4xx to the end of DATA is not before DATA: no failover');
});

t.test('mayFailOver: only what cannot have been delivered', async (t) => {
  t.ok(mayFailOver({ kind: 'unavailable', error: 'ECONNREFUSED' }));
  t.ok(mayFailOver({ kind: 'transient', error: '', response: '451', beforeData: true }));
  t.notOk(mayFailOver({ kind: 'transient', error: '', response: '451', beforeData: false }));
  t.notOk(mayFailOver({ kind: 'uncertain', error: 'dropped' }));
  t.notOk(mayFailOver({ kind: 'permanent', error: '', response: '550' }));
});
