// test-plan: standalone
import type { Admin } from 'kafkajs';
import t from 'tap';
import { topicOffsets } from '../src/topic-offsets.js';

const OFFSETS = [{ partition: 0, offset: '3', high: '3', low: '0' }];
const notLeader = Object.assign(new Error('This server is not the leader for that topic-partition'), { retriable: true });

/** An admin whose fetchTopicOffsets fails with `errors` in turn, then answers. */
function admin(errors: Error[]) {
  let calls = 0;
  const fake = {
    fetchTopicOffsets: async () => {
      const error = errors[calls++];
      if (error) throw error;
      return OFFSETS;
    },
  };
  return { admin: fake as unknown as Admin, calls: () => calls };
}

t.test('a retriable error (a leader moving) is asked again, and the offsets come back', async (t) => {
  const a = admin([notLeader, notLeader]);
  t.same(await topicOffsets(a.admin, 'emails'), OFFSETS);
  t.equal(a.calls(), 3, 'asked three times');
});

t.test('an error that is not retriable throws at once', async (t) => {
  const a = admin([new Error('authorization failed')]);
  await t.rejects(topicOffsets(a.admin, 'emails'), /authorization failed/);
  t.equal(a.calls(), 1);
});

t.test('retriable errors past the deadline throw the last one', async (t) => {
  const a = admin(Array.from({ length: 100 }, () => notLeader));
  await t.rejects(topicOffsets(a.admin, 'emails', 250), /not the leader/);
  t.ok(a.calls() >= 2 && a.calls() <= 4, `asked ${a.calls()} times within 250 ms (100, 200 ms apart)`);
});
