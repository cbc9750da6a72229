// test-plan: standalone

import { emailRequestSchema } from '@postline/contracts';
import type { Message } from 'kafkajs';
import t from 'tap';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { accept } from '../../src/accept.js';

const email = (text: string) => emailRequestSchema().parse({ from: 'Shop <orders@example.com>', to: 'a@example.net', subject: 'Hi', text });

t.test("a large email's envelope is written in a turn after the one that validated it; a small one's is not", async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  let order: string[] = [];
  const queue = app.emailQueue;
  const enqueue = queue.enqueue;
  queue.enqueue = async (messages: Message[]) => {
    order.push('produced');
    return enqueue(messages);
  };
  const caller = { account: 'test', log: app.log };
  for (const [name, text, expected] of [
    ['256 Ki characters', 'x'.repeat(256 * 1024), ['other work', 'produced']],
    ['one character short of it', 'x'.repeat(256 * 1024 - 1), ['produced', 'other work']],
  ] as const) {
    order = [];
    setImmediate(() => order.push('other work'));
    await accept(app, caller, [email(text)], { idempotencyKey: undefined, batch: false });
    await new Promise((resolve) => setImmediate(resolve));
    t.same(order, expected, name);
  }
  t.equal(produced.length, 2);
  t.equal(JSON.parse(String(produced[0]?.value)).email.text.length, 256 * 1024, 'the envelope carries the whole text');
});
