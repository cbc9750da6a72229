import t from 'tap';
import { AUTH } from '../helpers/api.js';
import { sleep } from '../helpers/env.js';
import { System } from './harness.js';

// The services run with capped heaps (packages/stack/src/node-options.ts; spawnService uses them).
// What keeps a capped process alive under large emails is the API's BODY_BYTES_IN_FLIGHT and the
// mailer's bounded emails in flight; this scenario sends more large bodies at once than either
// process could hold without those bounds.
t.test(
  '19. 30 emails with 2.9 MB attachments at once, all services on their defaults → all accepted, each delivered once, no process dies',
  async (t) => {
    const system = await System.start(t, { mailers: 1 });
    const content = Buffer.alloc(2_200_000, 7).toString('base64');
    const statuses: Record<string, number> = {};
    const sendOne = async (i: number) => {
      const subject = `large-${i}`;
      const body = JSON.stringify({
        from: 'Shop <orders@example.com>',
        to: 'customer@example.net',
        subject,
        text: `invoice ${i} attached`,
        attachments: [{ filename: `invoice-${i}.pdf`, content, contentType: 'application/pdf' }],
      });
      // As a client does: a 503 with Retry-After is tried again, with the same Idempotency-Key.
      for (let attempt = 0; attempt < 20; attempt++) {
        const res = await fetch(`${system.apiUrl}/v1/emails`, {
          method: 'POST',
          headers: { ...AUTH, 'content-type': 'application/json', 'idempotency-key': subject },
          body,
        });
        const answer = (await res.json()) as { id?: string; code?: string };
        const key = `${res.status}${answer.code ? ` ${answer.code}` : ''}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (res.status === 202 && answer.id) return system.accepted.set(subject, answer.id);
        if (res.status !== 503)
          throw new Error(
            `${subject}: ${res.status} ${JSON.stringify(answer)}; API warnings ${JSON.stringify(system.api.warnings())}; answers ${JSON.stringify(statuses)}`,
          );
        await sleep(1_000 * Number(res.headers.get('retry-after') ?? 1));
      }
      throw new Error(`${subject}: never accepted`);
    };
    await Promise.all(Array.from({ length: 30 }, (_, i) => sendOne(i)));
    t.equal(system.accepted.size, 30, `all accepted (answers: ${JSON.stringify(statuses)})`);
    t.same(
      Object.keys(statuses).filter((k) => !['202', '503 EMAIL_ERR_BUSY', '503 EMAIL_ERR_QUEUE_UNAVAILABLE'].includes(k)),
      [],
      'nothing but 202 and the 503s a client retries (busy; not acknowledged in time)',
    );
    const s = await system.reconcile('large emails');
    t.equal(s.lost, 0, 'none lost');
    t.equal(s.duplicated, 0, 'none twice');
    const attachments = system.sink.received.filter((m) => m.subject?.startsWith('large-'));
    t.ok(
      attachments.every((m) => m.raw.length > content.length),
      'each message at the SMTP server carries its attachment',
    );
    t.equal(system.api.child.exitCode, null, 'the API never died');
    t.equal(system.mailers[0]?.child.exitCode, null, 'the mailer never died');
    t.equal(system.mailers.length, 1, 'and was never restarted');
    // Two large emails of one partition in one produce passed the brokers' batch limit, and the
    // send after that failed one was acknowledged without being written: a 202'd email lost.
    t.same(
      Object.keys(system.api.warnings()).filter((w) => /larger than the max message size/.test(w)),
      [],
      'no produce was refused as too large (sends are capped at PRODUCE_BATCH_BYTES)',
    );
  },
);
