export { ConfigError } from './config-error.js';
export * as fields from './config-fields.js';
export { emailTopics, MAX_RECORD_BYTES, type TopicConfig } from './email-topics.js';
export { parseEnv } from './env.js';
export { createKafka } from './kafka-client.js';
export { createLogger, type Logger, type LogSink, REDACT_PATHS } from './logger.js';
export { type ServeOptions, serve } from './serve.js';
export { ensureTopics, provisionTopics, type TopicSpec } from './topics.js';
export { retryUntil } from './with-retry.js';
