import { testKafka } from './kafka.js';

const owned = new Set<string>();
let armed = false;

/**
 * Topics a test file created are deleted once its tests are over (when the process is about to
 * exit: after every teardown, so no service still uses them). Every partition costs the brokers'
 * replica fetchers CPU even when idle: over a whole run, about 40 sets of 22 partitions × 3
 * replicas on two cores slowed every later file. Best effort: a leftover costs time, not results.
 */
export function ownTopics(...names: (string | undefined)[]): void {
  for (const name of names) if (name) owned.add(name);
  if (armed) return;
  armed = true;
  process.once('beforeExit', () => {
    void deleteOwned();
  });
}

async function deleteOwned(): Promise<void> {
  const admin = testKafka('test-cleanup').admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = [...owned].filter((name) => existing.has(name));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 15_000 });
  } catch {
    // Leftovers only slow later files down.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
