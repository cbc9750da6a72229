/**
 * Runs `items` on `lanes.length` lanes: each lane takes the next item when its last one ends, so
 * a long item on one lane does not hold back the short ones behind it. The results come back in
 * the items' order. With one lane this is a plain loop. `stop()` true: no lane takes another item.
 * `opens(lane)`: when a lane may take its first item (a lane whose stack is busy with other work
 * until then); by default at once.
 */
export async function runInLanes<L, I, R>(
  lanes: readonly L[],
  items: readonly I[],
  run: (lane: L, item: I) => Promise<R>,
  stop: () => boolean = () => false,
  opens: (lane: L) => Promise<unknown> = async () => {},
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const work = async (lane: L) => {
    await opens(lane);
    while (next < items.length && !stop()) {
      const index = next++;
      results[index] = await run(lane, items[index] as I);
    }
  };
  await Promise.all(lanes.map(work));
  return results.filter((r) => r !== undefined);
}
