import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { monotonicMs } from './monotonic-clock.js';

/**
 * A topic's low and high offsets, riding through retriable errors for up to `withinMs`. kafkajs'
 * admin asks each partition's leader once, with no retry of its own: during a failover, or just
 * after a topic was created, a broker can still answer NOT_LEADER_FOR_PARTITION for a moment
 * (seen in a test reading a topic its API had just created). Anything not retriable throws at once.
 */
export async function topicOffsets(admin: Admin, topic: string, withinMs = 10_000): ReturnType<Admin['fetchTopicOffsets']> {
  const deadline = monotonicMs() + withinMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || monotonicMs() + delay > deadline) throw error;
      await sleep(delay);
    }
  }
}
