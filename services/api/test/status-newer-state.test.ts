import t from 'tap';
import { AUTH, buildApi, email } from '../../../test/helpers/api.js';
import { ledgerPool } from '../../../test/helpers/mailer.js';

t.test('GET /v1/emails/:id answers with a state this version does not know (a later migration and mailer wrote it)', async (t) => {
  const { app } = await buildApi(t);
  const pool = ledgerPool(t);
  const id = (await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() })).json().id as string;
  // As a later version's migration and mailers could during a rollout (mailers go first): a new
  // email state and a new recipient state. This file's database is its own (test/helpers/env.ts).
  await pool.query(`alter table emails drop constraint emails_state_check`);
  await pool.query(`alter table email_recipients drop constraint email_recipients_status_check`);
  await pool.query(`update emails set state = 'bouncing' where id = $1`, [id]);
  await pool.query(`insert into email_recipients (email_id, address, status) values ($1, 'to@example.net', 'deferred_long')`, [id]);

  const res = await app.inject({ method: 'GET', url: `/v1/emails/${id}`, headers: AUTH });
  t.equal(res.statusCode, 200, 'not a 500 from the response schema');
  t.equal(res.json().status, 'bouncing', 'the state as stored');
  t.same(
    res.json().recipients.map((r: { status: string }) => r.status),
    ['deferred_long'],
  );
  const resend = await app.inject({ method: 'GET', url: `/resend/emails/${id}`, headers: AUTH });
  t.equal(resend.statusCode, 200, 'nor from the Resend route');
  t.equal(resend.json().last_event, 'bouncing');
});

t.test('the OpenAPI document still lists the states this version knows', async (t) => {
  const { app } = await buildApi(t);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const status = JSON.stringify(doc.components.schemas.EmailStatus.properties.status);
  for (const state of ['scheduled', 'queued', 'sending', 'sent', 'retrying', 'failed', 'suppressed', 'canceled']) {
    t.ok(status.includes(`"${state}"`), state);
  }
});
