import { simpleParser } from 'mailparser';
import t, { type Test } from 'tap';
import { stackControl } from '../../packages/stack/src/control-client.js';
import { AUTH } from '../helpers/api.js';
import { leaderOfMost, waitForFullIsr } from '../helpers/cluster.js';
import { sleep, uniqueName } from '../helpers/env.js';
import { readTopic, testKafka } from '../helpers/kafka.js';
import { eventually, ledgerPool, MESSAGE_ID_DOMAIN } from '../helpers/mailer.js';
import { System } from './harness.js';

// Issue #14: scheduled sends, cancel and reschedule, and template sends, end to end. Every
// service runs with its production defaults for every timing (System.start's default): the release tick,
// the session timeout after a SIGKILL, the claim TTL.

const control = stackControl();
// Recipients of this file only: the suppression list is shared by every test of the run.
const rcpt = uniqueName('sched').toLowerCase();
let n = 0;

type Answer = { status: number; body: Record<string, unknown> };

async function call(system: System, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${system.apiUrl}${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** POSTs an email due at `at` (ms since the epoch; null: now); returns its id. */
async function schedule(t: Test, system: System, at: number | null, extra: Record<string, unknown> = {}): Promise<string> {
  const subject = `sched-${++n}`;
  const email = { from: 'Shop <orders@example.com>', to: `${rcpt}@example.net`, subject, text: `body ${subject}`, ...extra };
  const res = await call(system, 'POST', '/v1/emails', at === null ? email : { ...email, scheduledAt: new Date(at).toISOString() });
  if (res.status !== 202) t.fail(`accepted: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

const mid = (id: string) => `<${id}@${MESSAGE_ID_DOMAIN}>`;
/** When the SMTP server received each copy of the email (empty: never). */
const arrivals = (system: System, id: string) => system.sink.received.filter((r) => r.messageId === mid(id)).map((r) => r.at);

t.test('scheduled sends, with the production defaults', async (t) => {
  const system = await System.start(t, { mailers: 2 });
  const pool = ledgerPool(t);

  await t.test('a month-ahead email at the head of a partition does not delay the due emails behind it', async (t) => {
    const later = await schedule(t, system, Date.now() + 29 * 86_400_000);
    const status = await call(system, 'GET', `/v1/emails/${later}`);
    t.equal(status.body.status, 'scheduled');
    // Behind it on its partition: emails due now. The API puts each send on the next broker, spread over the
    // partitions it leads (4 of 12), so sends that follow the month-ahead one's soon put one behind it: 60 emails
    // at once, then batches of 20 (a send or more each) until some sit behind it.
    const now: string[] = [];
    const topic = system.apiEnv.EMAILS_TOPIC as string;
    let records: Awaited<ReturnType<typeof readTopic>> = [];
    let head: (typeof records)[number] | undefined;
    let behind: typeof records = [];
    for (let batch = 0; batch < 16 && behind.length === 0; batch++) {
      now.push(...(await Promise.all(Array.from({ length: batch === 0 ? 60 : 20 }, () => schedule(t, system, null)))));
      records = await readTopic(testKafka(), topic, (rs) => rs.length >= now.length + 1);
      head = records.find((r) => r.key === later);
      behind = records.filter((r) => r.partition === head?.partition && BigInt(r.offset) > BigInt(head?.offset ?? 0));
    }
    t.ok(await eventually(async () => now.every((id) => arrivals(system, id).length > 0), 60_000), 'every email due now is sent');
    t.ok(behind.length > 0, `${behind.length} emails due now sat behind it on partition ${head?.partition} after ${now.length}`);
    const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from scheduled_envelopes where email_id = $1', [later]);
    t.equal(rows[0]?.n, 1, 'the month-ahead record is parked in the ledger (its offset committed), not held by a consumer');
    t.same(arrivals(system, later), [], 'and it is not sent');
    t.equal((await call(system, 'POST', `/v1/emails/${later}/cancel`)).status, 200, 'it can still be canceled');
  });

  await t.test('reschedule earlier, later and into the past', async (t) => {
    const base = Date.now();
    const [earlier, later, past] = await Promise.all([0, 1, 2].map(() => schedule(t, system, base + 9_000)));
    const move = (id: string | undefined, at: number) =>
      call(system, 'PATCH', `/v1/emails/${id}`, { scheduledAt: new Date(at).toISOString() });
    const e = await move(earlier, base + 3_000);
    t.equal(e.status, 200);
    t.equal(e.body.scheduledAt, new Date(base + 3_000).toISOString(), 'the status shows the new due time');
    t.equal((await move(later, base + 13_000)).status, 200);
    const p = await move(past, base - 3_600_000);
    t.equal(p.status, 200, 'a time in the past means now');
    t.ok(await eventually(async () => [earlier, later, past].every((id) => arrivals(system, id as string).length > 0), 60_000));
    const [a, b, c] = [earlier, later, past].map((id) => arrivals(system, id as string));
    t.ok(a?.length === 1 && a[0]! >= base + 3_000 && a[0]! < base + 9_000, 'earlier: sent once, at its new time, before the old one');
    t.ok(b?.length === 1 && b[0]! >= base + 13_000, 'later: sent once, not before its new time');
    t.ok(c?.length === 1 && c[0]! < base + 9_000, 'into the past: sent at once');
    const eventTypes = async () =>
      ((await call(system, 'GET', `/v1/emails/${later}/events`)).body.data as { type: string }[]).map((e) => e.type);
    // The SMTP server has the message before the mailer records its 250 (and the event with it):
    // the event is waited for, not read the moment the message arrives (ci97 read it too soon).
    t.ok(await eventually(async () => (await eventTypes()).includes('email.sent'), 30_000), 'the send is an event too');
    const types = await eventTypes();
    t.same(types.slice(0, 2), ['email.scheduled', 'email.scheduled'], 'each change is an event');
    t.ok(types.includes('email.sent'));
    const late = await move(later, Date.now() + 60_000);
    t.equal(late.status, 409, 'a sent email cannot be rescheduled');
    t.equal(late.body.state, 'sent', 'the 409 says its state');
    t.equal((await call(system, 'POST', `/v1/emails/${later}/cancel`)).body.state, 'sent', 'nor canceled');
  });

  await t.test('cancel racing the due time, 200 times: each email is sent once or canceled, never both', async (t) => {
    const due = Date.now() + 6_000;
    const ids = await Promise.all(Array.from({ length: 200 }, () => schedule(t, system, due)));
    // Each cancel at its own moment from 1.5 s before to 3 s after the due time (release tick 1 s).
    const answers = await Promise.all(
      ids.map(async (id, i) => {
        await sleep(Math.max(0, due - 1_500 + (i * 4_500) / ids.length - Date.now()));
        return call(system, 'POST', `/v1/emails/${id}/cancel`);
      }),
    );
    const canceled = ids.filter((_, i) => answers[i]?.status === 200);
    const tooLate = ids.filter((_, i) => answers[i]?.status === 409);
    t.equal(canceled.length + tooLate.length, 200, 'every cancel answered 200 or 409');
    t.ok(canceled.length > 0 && tooLate.length > 0, `the race went both ways (${canceled.length} canceled, ${tooLate.length} too late)`);
    t.ok(
      answers.every((a) => a.status === 200 || ['sending', 'sent'].includes(a.body.state as string)),
      'a 409 says sending or sent',
    );
    t.ok(
      await eventually(async () => tooLate.every((id) => arrivals(system, id).length > 0), 60_000),
      'every email too late to cancel is sent',
    );
    await sleep(3_000); // a canceled email that went out anyway would arrive now
    t.same(
      canceled.filter((id) => arrivals(system, id).length > 0),
      [],
      'no canceled email reached the SMTP server',
    );
    t.same(
      tooLate.filter((id) => arrivals(system, id).length !== 1),
      [],
      'each of the others exactly once',
    );
    t.ok(
      tooLate.every((id) => arrivals(system, id)[0]! >= due),
      'none before its due time',
    );
    const { rows } = await pool.query<{ state: string; n: number }>(
      'select state, count(*)::int as n from emails where id = any($1) group by state order by state',
      [ids],
    );
    t.same(rows, [
      { state: 'canceled', n: canceled.length },
      { state: 'sent', n: tooLate.length },
    ]);
  });

  await t.test('mailer SIGKILL, a broker kill and Postgres down 10 s around the due time: 0 lost, 0 early, 0 duplicates', async (t) => {
    const due = Date.now() + 12_000;
    // Due over 6 s: some before each fault, some during, some after.
    const ids = await Promise.all(Array.from({ length: 150 }, (_, i) => schedule(t, system, due + (i % 60) * 100)));
    const emailsTopic = system.apiEnv.EMAILS_TOPIC as string;
    await sleep(due - 2_000 - Date.now());
    // An orchestrator restarts the killed mailer at once.
    system.mailers[0]?.child.kill('SIGKILL');
    await system.spawnMailer();
    await sleep(due + 1_000 - Date.now());
    const broker = await leaderOfMost(emailsTopic);
    t.teardown(() => control?.kafka(broker, 'start'));
    await control?.kafka(broker, 'kill');
    await sleep(2_000);
    t.teardown(() => control?.postgres('start'));
    await control?.postgres('stop');
    await sleep(3_000);
    await control?.kafka(broker, 'start');
    await sleep(7_000);
    await control?.postgres('start');
    await waitForFullIsr(emailsTopic);
    const sent = await eventually(async () => ids.every((id) => arrivals(system, id).length > 0), 180_000, 500);
    await sleep(2_000);
    const lost = ids.filter((id) => arrivals(system, id).length === 0);
    t.ok(sent, `all sent (${lost.length} missing)`);
    t.same(lost, [], '0 lost');
    t.same(
      ids.filter((id) => arrivals(system, id).length > 1),
      [],
      '0 duplicates',
    );
    const early = ids.filter((id, i) => arrivals(system, id).some((at) => at < due + (i % 60) * 100));
    t.same(early, [], '0 early');
  });

  await t.test('a template send: rendered at the API, escaped in html and raw in text; a later edit changes nothing sent', async (t) => {
    const name = uniqueName('welcome');
    const created = await call(system, 'POST', '/v1/templates', {
      name,
      subject: 'Hi {{ name }}',
      html: '<p>Hello {{ name }}</p>',
      text: 'Hello {{ name }}',
      variables: { name: { type: 'string' } },
      publish: true,
    });
    t.equal(created.status, 201);
    const id = await schedule(t, system, Date.now() + 4_000, {
      subject: undefined,
      text: undefined,
      template: { name, variables: { name: '<script>alert(1)</script>' } },
    });
    // After the 202 and before the due time, the template changes and is published again.
    t.equal((await call(system, 'PATCH', `/v1/templates/${name}`, { html: '<p>Changed {{ name }}</p>', text: 'Changed' })).status, 200);
    t.equal((await call(system, 'POST', `/v1/templates/${name}/publish`)).body.publishedVersion, 2);
    t.ok(await eventually(async () => arrivals(system, id).length > 0, 60_000));
    const raw = system.sink.received.find((r) => r.messageId === mid(id))?.raw ?? '';
    const mail = await simpleParser(raw);
    t.equal(mail.subject, 'Hi <script>alert(1)</script>');
    t.equal(mail.html, '<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>', 'html: the variable is escaped; version 1 as accepted');
    t.equal(mail.text?.trim(), 'Hello <script>alert(1)</script>', 'text: the variable as given');
    const status = await call(system, 'GET', `/v1/emails/${id}`);
    t.same(status.body.template, { id: created.body.id, version: 1 });
  });
});
