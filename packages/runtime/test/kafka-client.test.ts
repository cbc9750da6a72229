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
  t.equal(kafkaLevel(logLevel.WARN, { message: 'x' }), 'warn');
  t.equal(kafkaLevel(logLevel.INFO, { message: 'x' }), 'info');
});
