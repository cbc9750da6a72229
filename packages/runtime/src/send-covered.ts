import type { Message, RecordMetadata } from 'kafkajs';

/** kafkajs resolved a send without acknowledging some of its partitions, again and again. */
export class UncoveredSendError extends Error {
  override readonly name = 'UncoveredSendError';
}

const MAX_ROUNDS = 10;

/**
 * Sends messages pinned to partitions and resolves only once every partition is in a response.
 *
 * Why: kafkajs (2.2.4, producer/sendMessages.js) remembers which *brokers* answered, not which
 * partitions. When a send spans brokers A and B, A answers and B dies, B's partitions fail over
 * to A and the retry finds every leader "already answered": the send resolves without B's
 * records (acknowledged, yet lost — seen in the leader-kill e2e scenarios). Its result then
 * lacks those partitions, which is how we notice and send them again. The failed request rolled
 * their sequence numbers back, so the re-send is deduplicated by the broker if B had written them.
 */
export async function sendCovered(
  send: (messages: Message[]) => Promise<RecordMetadata[]>,
  messages: Message[],
  onGap: (partitions: number[]) => void,
): Promise<void> {
  let pending = messages;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const acked = new Set((await send(pending)).map((r) => r.partition));
    pending = pending.filter((m) => !acked.has(m.partition as number));
    if (pending.length === 0) return;
    onGap([...new Set(pending.map((m) => m.partition as number))]);
  }
  throw new UncoveredSendError(`partitions left unacknowledged after ${MAX_ROUNDS} sends`);
}
