// test-plan: standalone
import { emailEvent } from '@postline/contracts';
import type { KafkaMessage } from 'kafkajs';
import t from 'tap';
import { deliveriesOf } from '../src/event-deliveries.js';

const endpoints = {
  // '*' takes every event, wh_named only the types it names (a newer API may store a newer type).
  subscribers: (account: string, type: string) =>
    [
      { id: 'wh_all', account: 'shop', events: ['*'] },
      { id: 'wh_named', account: 'shop', events: ['email.sent', 'email.opened'] },
    ].filter((e) => e.account === account && (e.events.includes('*') || e.events.includes(type))) as never[],
};

const message = (value: unknown, offset: string): KafkaMessage =>
  ({ offset, key: null, value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), headers: {} }) as KafkaMessage;

t.test('an event of a type this version does not know is delivered as it came; only what is no event is skipped', async (t) => {
  const sent = emailEvent('shop', 'email.sent', { emailId: 'em_1', relay: 'r1' }, '2026-12-06T18:00:00.000Z');
  // What a newer mailer could publish: a type added later, and a data field this version lacks.
  const opened = { ...sent, id: 'evt_opened', type: 'email.opened', data: { emailId: 'em_1', userAgent: 'x/1' } };
  const skipped: string[] = [];
  const deliveries = deliveriesOf(
    [
      message(sent, '0'),
      message(opened, '1'),
      message('not JSON', '2'),
      message({ ...opened, type: 'Email Opened' }, '3'),
      message({ ...opened, type: 'email.opened', data: {} }, '4'),
      message(null, '5'),
    ],
    endpoints,
    (m) => skipped.push(m.offset),
  );
  t.same(
    deliveries.map((d) => [d.endpointId, d.eventType]),
    [
      ['wh_all', 'email.sent'],
      ['wh_named', 'email.sent'],
      ['wh_all', 'email.opened'],
      ['wh_named', 'email.opened'],
    ],
  );
  t.same(
    JSON.parse(deliveries[2]?.body ?? ''),
    { type: 'email.opened', timestamp: sent.timestamp, data: opened.data },
    'its data kept whole',
  );
  t.equal(
    deliveries[0]?.body,
    JSON.stringify({ type: 'email.sent', timestamp: sent.timestamp, data: sent.data }),
    'a known event as before',
  );
  t.same(skipped, ['2', '3', '4', '5'], 'not JSON, a type that is no event type, no email id, a null record');
});
