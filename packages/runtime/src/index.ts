export { BatchDrain, CoalescedLoop } from './coalesced-loop.js';
export { ConfigError } from './config-error.js';
export * as fields from './config-fields.js';
export { ConsumerSupervisor } from './consumer-supervisor.js';
export { emailTopics, eventsTopic, MAX_RECORD_BYTES, PRODUCE_BATCH_BYTES, type TopicConfig } from './email-topics.js';
export { parseEnv } from './env.js';
export { FreshValue } from './fresh-value.js';
export { BACKEND_RETRY, CONSUMER_RETRY, createKafka } from './kafka-client.js';
export { type KafkaConnection, kafkaConnection, kafkaConnectionFields } from './kafka-connection.js';
export { LogThrottle } from './log-throttle.js';
export { createLogger, type Logger, type LogSink, REDACT_PATHS } from './logger.js';
export { type BatcherOptions, MicroBatcher } from './micro-batcher.js';
export { monotonicMs } from './monotonic-clock.js';
export { keyPartition } from './murmur2.js';
export { type Committer, OffsetCommits } from './offset-commits.js';
export { splitByPartition } from './partition-split.js';
export { ProducerPool } from './producer-pool.js';
export { errSerializer, maskUrl } from './redact.js';
export { ResultBatcher } from './result-batcher.js';
export { type ServeOptions, serve } from './serve.js';
export { ShutdownDeadline, shutdownPlugin } from './shutdown-deadline.js';
export { Startup, startupPlugin } from './startup.js';
export { collectProcessMetrics, droppedLogLines, STDOUT_BUFFER_BYTES } from './stdout-destination.js';
export { topicOffsets } from './topic-offsets.js';
export { ensureTopics, provisionTopics, type TopicSpec, topicPartitions } from './topics.js';
export {
  createResolver,
  guardedLookup,
  isPublicAddress,
  type ResolveAll,
  type TargetPolicy,
  targetProblem,
  webhookTargetFields,
  webhookTargetPolicy,
} from './webhook-target.js';
export { retryUntil } from './with-retry.js';
export { withTimeout } from './with-timeout.js';
