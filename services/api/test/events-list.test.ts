import t from 'tap';
import { AUTH, buildApi, email } from '../../../test/helpers/api.js';
import { ledgerPool } from '../../../test/helpers/mailer.js';

t.test('GET /v1/emails/:id/events lists an event of a type this version does not know (a newer mailer wrote it)', async (t) => {
  const { app } = await buildApi(t);
  const pool = ledgerPool(t);
  const id = (await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() })).json().id as string;
  // As a mailer of a later version could write it during a rollout (mailers go first): a new type,
  // and a data field this version does not have.
  const payload = { type: 'email.opened', timestamp: '2026-12-06T18:00:00.000Z', data: { emailId: id, userAgent: 'x/1' } };
  await pool.query(`insert into email_events (id, email_id, account, type, payload) values ('evt_opened_' || $1, $1, 'test', $2, $3)`, [
    id,
    payload.type,
    JSON.stringify(payload),
  ]);
  const res = await app.inject({ method: 'GET', url: `/v1/emails/${id}/events`, headers: AUTH });
  t.equal(res.statusCode, 200, 'not a 500 from the response schema');
  const events = res.json().data as { type: string; data: Record<string, unknown> }[];
  t.same(
    events.map((e) => e.type),
    ['email.queued', 'email.opened'],
  );
  t.same(events[1]?.data, payload.data, 'its data as it was written');
});
