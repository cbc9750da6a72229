// test-plan: standalone
import { logLevel } from 'kafkajs';
import t from 'tap';
import { kafkaLevel } from '../src/kafka-client.js';

t.test("kafkajs' retried answers are warnings; what it gives up on stays an error", async (t) => {
  const coordinatorLoading = {
    message: 'Response JoinGroup(key: 11, version: 5)',
    error: "The coordinator is loading and hence can't process requests",
  };
  t.equal(kafkaLevel(logLevel.ERROR, coordinatorLoading), 'warn', 'a broker error answer kafkajs retries');
  t.equal(kafkaLevel(logLevel.ERROR, { message: 'Failed to connect to broker, reconnecting', retryCount: 0 }), 'warn');
  t.equal(kafkaLevel(logLevel.ERROR, { message: 'This server does not host this topic-partition', retryCount: 2 }), 'warn');
  t.equal(kafkaLevel(logLevel.ERROR, { message: 'Crash: KafkaJSNumberOfRetriesExceeded: x' }), 'error', 'a crash is an error');
  t.equal(
    kafkaLevel(logLevel.ERROR, {
      message: "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group",
    }),
    'warn',
    'but not one on a coordinator still loading, which kafkajs restarts itself',
  );
  t.equal(kafkaLevel(logLevel.ERROR, { message: 'Crash: KafkaJSProtocolError: Not authorized to access group' }), 'error');
  // kafkajs logs this at error level after each crash it restarts from, with no retryCount for a
  // protocol error: a fresh-clone CI's `npm start` check saw it after a coordinator-loading crash.
  t.equal(kafkaLevel(logLevel.ERROR, { message: 'Restarting the consumer in 300ms' }), 'warn', 'its own restart is not a second error');
  t.equal(kafkaLevel(logLevel.WARN, { message: 'x' }), 'warn');
  t.equal(kafkaLevel(logLevel.INFO, { message: 'x' }), 'info');
});
