/**
 * One more listener on each node for `npm test` (beside the secure ones): it listens at client
 * port + 1000 and advertises client port + 1100, where a test's proxy listens and forwards to it
 * (test/helpers/broker-proxy.ts). A client bootstrapped at the advertised ports learns only those
 * from the metadata, so a test can cut one client's path to one broker while the brokers, their
 * controllers and every other client still reach it: the partial network partition a cloud has
 * and a killed or frozen broker is not. Nothing listens at the advertised ports unless a test does.
 * Clear of the other listeners of both test stacks (9092 and 9392: +500 and +600 reach 9992).
 */
export const PROXIED_LISTEN_OFFSET = 1_000;
export const PROXIED_ADVERTISED_OFFSET = 1_100;

/** The listener's entries in `listeners` and `advertised.listeners`. */
export function proxiedListener(clientPort: number): { listen: string; advertised: string } {
  return {
    listen: `PROXIED://127.0.0.1:${clientPort + PROXIED_LISTEN_OFFSET}`,
    advertised: `PROXIED://127.0.0.1:${clientPort + PROXIED_ADVERTISED_OFFSET}`,
  };
}
