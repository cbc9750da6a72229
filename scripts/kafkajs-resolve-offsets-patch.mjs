// The fifteenth and sixteenth patches of scripts/patch-kafkajs.mjs: a fetcher resolves the starting
// offsets of its own broker's partitions only.
//
// kafkajs runs one fetcher per broker, and each one's fetch first resolves the starting offset of
// every partition assigned to the member that has none yet (no committed offset: a partition nothing
// was ever committed on, such as an empty retry topic's): it asks the group coordinator, then asks
// each of those partitions' leaders for its earliest offset, all at once, for every fetcher alike. A
// leader that does not answer (cut off from this client while the cluster still sees it) held that
// question for kafkajs' 30 s request timeout, and with it every fetcher's fetch, the reachable
// brokers' too. Seen in e2e 27 (test/e2e/network-partition.test.ts, a rolling update while the
// mailers are cut off from one broker): the mailer that stayed joined again 5.4 s after the other was
// stopped, with all twelve partitions, and delivered nothing for the next 45 s, until the cut healed.
//
// Patched, a fetcher resolves the partitions it fetches (those its broker leads), as Kafka's Java
// consumer resets each partition on its own. The offsets are the same; only who waits for whom
// changes. The test (packages/runtime/test/kafkajs-resolve-offsets.test.ts) runs kafkajs' own
// OffsetManager, patched and not.

export const RESOLVE_OFFSETS_PATCH_MARKER = "postline: a fetcher resolves its own partitions' offsets";

const SEEK_ORIGINAL = `        await this.offsetManager.seek(seekEntry)
      }
    }

    await this.offsetManager.resolveOffsets()
`;

const SEEK_PATCHED = `        await this.offsetManager.seek(seekEntry)
      }
    }

    // ${RESOLVE_OFFSETS_PATCH_MARKER} (postline's scripts/kafkajs-resolve-offsets-patch.mjs says why).
    await this.offsetManager.resolveOffsets(topicPartitions)
`;

const RESOLVE_ORIGINAL = `  async resolveOffsets() {
    const { groupId } = this
    const invalidOffset = topic => partition => {
      return isInvalidOffset(this.committedOffsets()[topic][partition])
    }

    const pendingPartitions = this.topics
      .map(topic => ({
        topic,
        partitions: this.memberAssignment[topic]
          .filter(invalidOffset(topic))
`;

const RESOLVE_PATCHED = `  // ${RESOLVE_OFFSETS_PATCH_MARKER} (postline's scripts/kafkajs-resolve-offsets-patch.mjs says why).
  async resolveOffsets(only) {
    const { groupId } = this
    const invalidOffset = topic => partition => {
      return isInvalidOffset(this.committedOffsets()[topic][partition])
    }
    /** With \`only\` (a fetcher's topics and partitions), the others are left to their own fetchers. */
    const wanted = topic => partition => {
      if (!only) return true
      const entry = only.find(t => t.topic === topic)
      return !!entry && entry.partitions.includes(partition)
    }

    const pendingPartitions = this.topics
      .map(topic => ({
        topic,
        partitions: this.memberAssignment[topic]
          .filter(invalidOffset(topic))
          .filter(wanted(topic))
`;

export const RESOLVE_OFFSETS_SEEK_PATCH = {
  file: 'src/consumer/consumerGroup.js',
  original: SEEK_ORIGINAL,
  patched: SEEK_PATCHED,
  marker: RESOLVE_OFFSETS_PATCH_MARKER,
};
export const RESOLVE_OFFSETS_PATCH = {
  file: 'src/consumer/offsetManager/index.js',
  original: RESOLVE_ORIGINAL,
  patched: RESOLVE_PATCHED,
  marker: RESOLVE_OFFSETS_PATCH_MARKER,
};
