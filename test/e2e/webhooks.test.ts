import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTBOX_RELAY_LOCK } from '@postline/ledger';
import t, { type Test as Tap } from 'tap';
import { freePort } from '../../packages/stack/src/ports.js';
import { AUTH } from '../helpers/api.js';
import { startBounceListener } from '../helpers/bounce-listener.js';
import { TestDns } from '../helpers/dns-server.js';
import { answers, sleep } from '../helpers/env.js';
import { eventually, ledgerPool } from '../helpers/mailer.js';
import { spawnService } from '../helpers/processes-mailer.js';
import { dsn } from '../helpers/reports.js';
import { swaks } from '../helpers/smtp-clients.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { System } from './harness.js';

// Every service here runs with its production defaults for every timing setting (session
// timeouts, claim TTL, SMTP timeouts, the webhook timeout and retry schedule).
t.test('events and webhooks, end to end: signed, complete, isolated, and never lost', async (t) => {
  // BOUNCE_DOMAIN, as `npm start` sets it: each recipient gets its copy with a VERP Return-Path of
  // its own, which the bounce listener's test below reads back as the SMTP server recorded it.
  const system = await System.start(t, { mailers: 1, mailer: { BOUNCE_DOMAIN: 'bounces.example.com' } });
  const pool = ledgerPool(t);
  let dispatcher = await system.startWebhooks();
  /** A JSON call with the test API key, to the system's API or (`base`) another. */
  const call = async (method: string, path: string, body?: unknown, base = system.apiUrl) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const register = async (receiver: WebhookReceiver, events: string[] = ['*']) => {
    const id = await receiver.subscribe(system.apiUrl, AUTH, events);
    await sleep(1_500); // the dispatcher's endpoint list is at most a second old
    return id;
  };
  const sendEmail = async (to: string[], subject: string) => {
    const res = await call('POST', '/v1/emails', { from: 'Shop <orders@example.com>', to, subject, text: `body of ${subject}` });
    if (res.status === 202) system.accepted.set(subject, res.body.id);
    return res;
  };
  /** The ledger's event ids of each email: what must reach a subscriber of every type. */
  const ledgerEvents = async (ids: string[]) => {
    const { rows } = await pool.query<{ email_id: string; id: string }>(
      'select email_id, id from email_events where email_id = any($1) order by seq',
      [ids],
    );
    const byEmail = new Map<string, string[]>();
    for (const r of rows) byEmail.set(r.email_id, [...(byEmail.get(r.email_id) ?? []), r.id]);
    return byEmail;
  };
  /** Every email of `ids` has its final event at `receiver`, and every event of the ledger arrived. */
  const reconcile = async (t: Tap, label: string, receiver: WebhookReceiver, ids: string[], timeoutMs = 120_000) => {
    const complete = async () => {
      const expected = await ledgerEvents(ids);
      return ids.every((id) => receiver.of(id).some((d) => d.final) && (expected.get(id) ?? []).every((e) => receiver.deliveredIds.has(e)));
    };
    const done = await eventually(complete, timeoutMs, 500);
    const expected = await ledgerEvents(ids);
    const missing = ids.flatMap((id) => (expected.get(id) ?? []).filter((e) => !receiver.deliveredIds.has(e)));
    const finals = ids.map(
      (id) =>
        new Set(
          receiver
            .of(id)
            .filter((d) => d.final)
            .map((d) => d.webhookId),
        ).size,
    );
    t.ok(done, `${label}: every event of ${ids.length} emails arrived`);
    t.same(missing.slice(0, 5), [], `${label}: no event missing (${missing.length})`);
    const known = new Set([...expected.values()].flat());
    const unknown = ids.flatMap((id) => receiver.of(id).filter((d) => !known.has(d.webhookId)));
    t.same(unknown.slice(0, 3), [], `${label}: no delivery under an id the ledger does not have (a retry keeps its webhook-id)`);
    t.ok(
      finals.every((n) => n === 1),
      `${label}: exactly one final event per email (${finals.filter((n) => n !== 1).length} without)`,
    );
    t.same(receiver.badSignatures.slice(0, 3), [], `${label}: every signature verified by standardwebhooks`);
  };

  const fast = await new WebhookReceiver().start();
  t.teardown(() => fast.stop());
  const fastId = await register(fast);

  t.test('steady load: the events of each email arrive, in order, one of them final', async (t) => {
    const before = new Set(system.accepted.values());
    await system.load(8, { total: 200 }).finished;
    const ids = [...system.accepted.values()].filter((id) => !before.has(id));
    t.equal(ids.length, 200, 'all 200 accepted');
    await reconcile(t, 'steady', fast, ids);
    const sample = ids[0] as string;
    // Deliveries are not ordered (several are in flight per endpoint, and retries overtake);
    // each carries its timestamp, and GET /v1/emails/{id}/events has the order.
    const types = [...new Map(fast.of(sample).map((d) => [d.webhookId, d.type])).values()].sort();
    t.same(types, ['email.queued', 'email.sent'], 'queued and sent');
    const listed = await call('GET', `/v1/emails/${sample}/events`);
    t.same(
      listed.body.data.map((e: { type: string }) => e.type),
      ['email.queued', 'email.sent'],
      'GET /v1/emails/{id}/events lists the same events in order',
    );
    t.same(
      listed.body.data.map((e: { id: string }) => e.id).sort(),
      [...new Set(fast.of(sample).map((d) => d.webhookId))].sort(),
      'with the ids the receiver got as webhook-id',
    );
  });

  t.test('rotating the secret: new deliveries verify with the new secret, and the old one still works for a day', async (t) => {
    const old = fast.secret;
    const rotated = await call('POST', `/v1/webhooks/${fastId}/rotate-secret`);
    t.equal(rotated.status, 200);
    t.match(rotated.body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    t.not(rotated.body.secret, old);
    await sleep(1_500); // the dispatcher's endpoint list is at most a second old
    fast.secret = rotated.body.secret;
    const res = await sendEmail(['rotated@example.net'], 'after the rotation');
    await reconcile(t, 'new secret', fast, [res.body.id]);
    fast.secret = old;
    const again = await sendEmail(['rotated@example.net'], 'after the rotation, old secret');
    await reconcile(t, 'old secret during the overlap', fast, [again.body.id]);
    fast.secret = rotated.body.secret;
    const listed = await call('GET', `/v1/webhooks/${fastId}`);
    t.notOk('secret' in listed.body, 'the secret is never shown again');
  });

  t.test('a hard bounce for one of two recipients: the other is sent, the bounced one suppressed and skipped next time', async (t) => {
    t.teardown(() => call('DELETE', '/v1/suppressions/gone@example.net'));
    system.sink.refuseRecipients.set('gone@example.net', {
      code: 550,
      message: '5.1.1 <gone@example.net>: Recipient address rejected: User unknown',
    });
    const first = await sendEmail(['kept@example.net', 'gone@example.net'], 'partial bounce');
    t.equal(first.status, 202);
    await reconcile(t, 'partial bounce', fast, [first.body.id]);
    const events = fast.of(first.body.id);
    t.ok(
      events.some((d) => d.type === 'email.bounced' && d.recipient === 'gone@example.net'),
      'email.bounced for the refused recipient',
    );
    t.ok(
      events.some((d) => d.type === 'email.sent' && d.final),
      'and email.sent as the final event',
    );
    const status = await call('GET', `/v1/emails/${first.body.id}`);
    t.equal(status.body.status, 'sent');
    t.same(
      status.body.recipients.map((r: { address: string; status: string }) => [r.address, r.status]),
      [
        ['gone@example.net', 'refused'],
        ['kept@example.net', 'accepted'],
      ],
      'per-recipient outcomes',
    );
    const received = system.sink.received.filter((m) => m.subject === 'partial bounce');
    t.same(
      received.map((m) => m.to),
      [['kept@example.net']],
      'the SMTP server delivered it to the other recipient',
    );
    const list = await call('GET', '/v1/suppressions');
    t.ok(
      list.body.data.some((s: { address: string; reason: string }) => s.address === 'gone@example.net' && s.reason === 'hard_bounce'),
      'suppressed as a hard bounce',
    );

    const second = await sendEmail(['Gone@Example.net'], 'to a suppressed address');
    t.same(second.body.suppressed, ['Gone@Example.net'], 'the 202 says the recipient is suppressed');
    await reconcile(t, 'suppressed', fast, [second.body.id]);
    t.same(
      fast
        .of(second.body.id)
        .map((d) => [d.type, d.final])
        .sort(),
      [
        ['email.queued', false],
        ['email.suppressed', true],
      ],
      'a suppressed event, final',
    );
    t.equal((await call('GET', `/v1/emails/${second.body.id}`)).body.status, 'suppressed');
    t.notOk(
      system.sink.received.some((m) => m.subject === 'to a suppressed address'),
      'never handed to SMTP',
    );
    t.equal((await call('DELETE', '/v1/suppressions/gone@example.net')).status, 204, 'removed by hand');
    t.equal((await call('DELETE', '/v1/suppressions/gone@example.net')).status, 404, 'and gone');
    // The ledger outlives this test (other tests send as the same account): leave no suppression behind.
    t.teardown(() => call('DELETE', '/v1/suppressions/asked-to-stop@example.net'));
    const manual = await call('POST', '/v1/suppressions', { address: 'Asked-To-Stop@Example.net', reason: 'asked to stop' });
    t.equal(manual.status, 201);
    t.equal(manual.body.address, 'asked-to-stop@example.net', 'stored lower-case');
    t.equal((await call('POST', '/v1/suppressions', { address: 'asked-to-stop@example.net' })).status, 200, 'adding it again keeps it');
    t.equal((await call('POST', '/v1/suppressions', { address: 'not an address' })).status, 400);
    system.sink.refuseRecipients.clear();
  });

  t.test('a bounce that comes back later, through the bounce listener: only for a recipient of the email', async (t) => {
    // The bounce listener in this process, on the shared ledger; swaks (Debian's) delivers the
    // reports. The enclosed original is the headers the SMTP server really received.
    const domain = 'bounces.example.com';
    const listener = await startBounceListener(t, domain);
    t.teardown(() => call('DELETE', '/v1/suppressions/later@example.net'));
    const dir = mkdtempSync(join(tmpdir(), 'postline-dsn-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const report = async (recipient: string, others: string[] = []) => {
      const file = join(dir, `${recipient}.eml`);
      writeFileSync(file, dsn({ to: `fbl@${domain}`, recipient, action: 'failed', status: '5.1.1', originalHeaders: headers, others }));
      return swaks([
        '--server',
        '127.0.0.1',
        '--port',
        String(listener.bounceSmtpPort),
        '--from',
        '<>',
        '--to',
        `fbl@${domain}`,
        '--data',
        `@${file}`,
      ]);
    };

    const sent = await sendEmail(['Later@Example.net', 'other@example.net'], 'bounces later');
    await reconcile(t, 'bounces later', fast, [sent.body.id]);
    const copies = system.sink.received.filter((m) => m.subject === 'bounces later');
    t.same(
      copies.map((m) => m.to),
      [['Later@example.net'], ['other@example.net']],
      'a copy per recipient',
    );
    t.equal(new Set(copies.map((m) => m.from)).size, 2, 'each with a Return-Path of its own');
    // What the final MTA of Later's copy adds: the Return-Path, its MAIL FROM.
    const copy = copies[0];
    const raw = `Return-Path: <${copy?.from}>\r\n${copy?.raw ?? ''}`;
    const headers = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
    t.ok(
      headers.some((h) => h.startsWith('Message-ID: <')),
      'the original as received, with our Message-ID',
    );

    const forged = await report('ceo@victim.example', ['cfo@victim.example']);
    t.match(forged.transcript, /<-\s+250 2\.0\.0 Kept for inspection/, 'a report naming only others is kept, not recorded');
    const colleague = await report('other@example.net');
    t.match(colleague.transcript, /<-\s+250 2\.0\.0 Kept for inspection/, 'nor one about the other recipient, from this copy');
    const real = await report('later@example.net', ['ceo@victim.example']);
    t.match(real.transcript, /<-\s+250 2\.0\.0 Recorded/, 'a report naming a recipient (spelled otherwise) is recorded');
    t.ok(
      await eventually(
        async () => fast.of(sent.body.id).some((d) => d.type === 'email.bounced' && d.recipient === 'later@example.net'),
        60_000,
      ),
      'its email.bounced reaches the webhook',
    );
    const suppressed = (await call('GET', '/v1/suppressions')).body.data.map((s: { address: string }) => s.address);
    t.ok(suppressed.includes('later@example.net'), 'the recipient is suppressed');
    t.notOk(suppressed.includes('ceo@victim.example') || suppressed.includes('cfo@victim.example'), 'nobody the email was not sent to');
    t.notOk(suppressed.includes('other@example.net'), 'nor the other recipient');
    t.equal(fast.of(sent.body.id).filter((d) => d.type === 'email.bounced').length, 1, 'one bounce event in all');
  });

  t.test('a slow endpoint (5 s per call) next to a fast one: the fast one is not delayed', async (t) => {
    const slow = await new WebhookReceiver().start();
    t.teardown(() => slow.stop());
    slow.delayMs = 5_000;
    const slowId = await register(slow);
    const before = new Set(system.accepted.values());
    await system.load(4, { total: 100 }).finished;
    const ids = [...system.accepted.values()].filter((id) => !before.has(id));
    await reconcile(t, 'next to a slow endpoint', fast, ids);
    const latencies = ids
      .flatMap((id) => fast.of(id))
      .map((d) => d.receivedAt - d.eventAt)
      .sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Number.POSITIVE_INFINITY;
    t.comment(`fast endpoint: p99 ${p99} ms over ${latencies.length} events; the slow one got ${slow.delivered.length}`);
    t.ok(p99 < 5_000, `the fast endpoint's p99 (${p99} ms) is below one call to the slow one`);
    t.ok(slow.attempts.length > 0, 'the slow one is being called too');
    t.equal((await call('DELETE', `/v1/webhooks/${slowId}`)).status, 204, 'deleted (its pending deliveries go with it)');
  });

  t.test('the receiver is down for 60 s: afterwards everything arrives, retries with the same webhook-id', async (t) => {
    const before = new Set(system.accepted.values());
    fast.mode = 'down';
    const downFrom = fast.attempts.length;
    const load = system.load(1);
    await sleep(60_000);
    // (One client in a loop: a steady stream of new events while the receiver is down.)
    fast.mode = 'ok';
    await sleep(2_000);
    await load.stop();
    const ids = [...system.accepted.values()].filter((id) => !before.has(id));
    t.ok(ids.length > 20, `${ids.length} emails sent while it was down`);
    await reconcile(t, 'after 60 s down', fast, ids);
    const tries = new Map<string, number>();
    for (const id of fast.attempts.slice(downFrom)) tries.set(id, (tries.get(id) ?? 0) + 1);
    const retried = [...tries].filter(([id, n]) => n > 1 && fast.deliveredIds.has(id));
    t.ok(retried.length > 0, `${retried.length} deliveries retried, each under its one webhook-id`);
    const retriedEmail = fast.delivered.find((d) => d.webhookId === retried[0]?.[0])?.emailId;
    const deliveries = await call('GET', `/v1/webhooks/${fastId}/deliveries?emailId=${retriedEmail}`);
    const again = deliveries.body.data.filter((d: { attempts: number; status: string }) => d.attempts > 1 && d.status === 'delivered');
    t.ok(again.length > 0, 'the deliveries API shows retried deliveries, delivered');
    t.equal(again[0]?.lastStatusCode, 204, 'with the status code of their last attempt');
    t.type(again[0]?.lastLatencyMs, 'number', 'and its latency');
  });

  t.test('SIGKILL the dispatcher mid-stream: 0 events lost', async (t) => {
    const before = new Set(system.accepted.values());
    const load = system.load(4, { total: 150 });
    await eventually(() => [...system.accepted.values()].filter((id) => !before.has(id)).length >= 50, 60_000, 50);
    dispatcher.child.kill('SIGKILL');
    await dispatcher.exited;
    await load.finished;
    dispatcher = await system.startWebhooks();
    const ids = [...system.accepted.values()].filter((id) => !before.has(id));
    await reconcile(t, 'dispatcher killed', fast, ids);
  });

  t.test('SIGKILL a mailer between its ledger writes and the relay: the events still arrive', async (t) => {
    // The test holds the relay's lock, so every outcome the mailer writes stays in the outbox.
    const lock = await pool.connect();
    await lock.query('select pg_advisory_lock($1)', [OUTBOX_RELAY_LOCK]);
    let held = true;
    t.teardown(async () => {
      if (held) await lock.query('select pg_advisory_unlock($1)', [OUTBOX_RELAY_LOCK]);
      lock.release();
    });
    const before = new Set(system.accepted.values());
    await system.load(4, { total: 40 }).finished;
    const ids = [...system.accepted.values()].filter((id) => !before.has(id));
    const sentIds = async () =>
      (await pool.query<{ n: string }>(`select count(*) as n from emails where id = any($1) and state = 'sent'`, [ids])).rows[0]?.n;
    t.ok(await eventually(async () => Number(await sentIds()) === ids.length, 60_000, 200), 'all sent and recorded');
    const { rows } = await pool.query<{ n: string }>(
      `select count(*) as n from email_events join event_outbox using (seq) where email_id = any($1) and type = 'email.sent'`,
      [ids],
    );
    t.equal(Number(rows[0]?.n), ids.length, 'their sent events are written, and not published');
    const [mailer] = system.mailers;
    mailer?.child.kill('SIGKILL');
    await mailer?.exited;
    await lock.query('select pg_advisory_unlock($1)', [OUTBOX_RELAY_LOCK]);
    held = false;
    await system.startMailer();
    await reconcile(t, 'mailer killed before the relay', fast, ids);
  });

  t.test('SSRF: private endpoints are refused at registration, and a DNS answer that turns private is not called', async (t) => {
    const dns = await new TestDns().start();
    t.teardown(() => dns.stop());
    dns.ipv4 = '93.184.216.34'; // public at registration
    const guarded = { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_DNS_SERVERS: dns.server };
    // A second API with the production setting (the test default allows private targets).
    const port = await freePort();
    spawnService(t, 'api', { ...system.apiEnv, ...guarded, PORT: String(port) });
    t.ok(await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), 60_000, 100), 'second API ready');
    const second = `http://127.0.0.1:${port}`;
    const api = {
      post: (path: string, body: unknown) => call('POST', path, body, second),
      get: (path: string) => call('GET', path, undefined, second),
    };
    for (const url of [
      'http://127.0.0.1:8080/x',
      'http://[::1]/x',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.5/x',
      'http://[::ffff:127.0.0.1]/x',
    ]) {
      const res = await api.post('/v1/webhooks', { url, events: ['*'] });
      t.equal(res.status, 400, `${url}: 400`);
      t.equal(res.body.code, 'EMAIL_ERR_WEBHOOK_URL_NOT_ALLOWED');
    }
    const target = await new WebhookReceiver().start();
    t.teardown(() => target.stop());
    const created = await api.post('/v1/webhooks', { url: `http://rebind.test:${target.port}/hooks`, events: ['email.sent'] });
    t.equal(created.status, 201, 'a host that resolves to a public address is accepted');
    target.secret = created.body.secret;
    dns.ipv4 = '127.0.0.1'; // rebinding: now it points at the receiver on loopback
    // The dispatcher as deployed (private targets refused) replaces the test one.
    dispatcher.child.kill('SIGTERM');
    await dispatcher.exited;
    dispatcher = await system.startWebhooks(guarded);
    await sleep(1_500);
    const res = await sendEmail(['ssrf@example.net'], 'after the rebinding');
    t.equal(res.status, 202);
    const endpointId = created.body.id as string;
    const attempted = await eventually(
      async () => {
        const d = await api.get(`/v1/webhooks/${endpointId}/deliveries`);
        return d.body.data.some((x: { attempts: number }) => x.attempts > 0);
      },
      60_000,
      250,
    );
    t.ok(attempted, 'the delivery was attempted');
    const d = await api.get(`/v1/webhooks/${endpointId}/deliveries`);
    t.match(d.body.data[0].lastError, /not public/, 'and refused: the address it resolves to now is not public');
    t.equal(target.attempts.length, 0, 'the receiver at the private address was never called');
  });
});
