import { topicOffsets } from '@postline/runtime';
import type { Admin } from 'kafkajs';

export interface ReplayPlan {
  group: string;
  topic: string;
  partitions: { partition: number; offset: string }[];
}

/**
 * Where a group would restart on `topic`: the first offset at or after a time (ISO 8601), or one
 * offset for every partition (clamped to what the topic still holds).
 */
export async function replayPlan(admin: Admin, group: string, topic: string, from: string): Promise<ReplayPlan> {
  if (/^\d+$/.test(from)) {
    const ends = await topicOffsets(admin, topic);
    const partitions = ends.map((p) => {
      const offset = BigInt(from);
      const clamped = offset < BigInt(p.low) ? BigInt(p.low) : offset > BigInt(p.high) ? BigInt(p.high) : offset;
      return { partition: p.partition, offset: clamped.toString() };
    });
    return { group, topic, partitions };
  }
  const at = Date.parse(from);
  if (Number.isNaN(at)) throw new Error(`--from must be an ISO 8601 time or an offset, not ${from}`);
  const partitions = (await admin.fetchTopicOffsetsByTimestamp(topic, at)).map((p) => ({ partition: p.partition, offset: p.offset }));
  return { group, topic, partitions };
}

/** Moves the group's committed offsets. Kafka refuses while the group has members: stop its consumers first. */
export async function applyReplay(admin: Admin, plan: ReplayPlan): Promise<void> {
  const groups = await admin.describeGroups([plan.group]);
  const members = groups.groups[0]?.members.length ?? 0;
  if (members > 0) throw new Error(`the group ${plan.group} has ${members} running member(s): stop its mailers first, then replay`);
  await admin.setOffsets({ groupId: plan.group, topic: plan.topic, partitions: plan.partitions });
}
