/**
 * The protocol errors a heartbeat answers when this member's assignment is about to end: the group
 * is rebalancing, has moved to another coordinator, or no longer knows this generation or member.
 * kafkajs' runner joins the group again on each of them (its `isRebalancing`, and UNKNOWN_MEMBER_ID).
 */
const MUST_REJOIN = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * What a batch's heartbeat heard that makes the member join its group again, shared by the batches
 * in flight. kafkajs rejoins only once a batch ends (or its own heartbeat, one interval later, hears
 * it too), and the coordinator waits for every member before it assigns: a batch fetched from a
 * backlog (hundreds of emails) held the whole group for as long as it took to send (11 s in e2e
 * 27). Told, a batch takes no new record, lets the sends in flight end, commits, and throws the
 * error, which kafkajs' runner answers by joining again at once.
 */
export class RejoinSignal {
  private heardError: Error | null = null;

  /** A heartbeat's failure: kept when it says the member must join again, otherwise ignored (the runner's own heartbeat deals with it). */
  heard(error: unknown): void {
    const type = (error as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && MUST_REJOIN.has(type)) this.heardError = error as Error;
  }

  /** The error to end batches with, until the member has joined again. */
  get pending(): Error | null {
    return this.heardError;
  }

  /** The member joined its group again (kafkajs' GROUP_JOIN). */
  joined(): void {
    this.heardError = null;
  }
}
