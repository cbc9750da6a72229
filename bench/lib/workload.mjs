// What every API benchmark sends and how it sets the API up, so runs of run.mjs and ab.mjs compare.
import { emailTopics } from '../../packages/runtime/dist/index.js';

export const KEY = 'bench-key-0123456789abcdef0123';

// ~1.5 KB, like a typical transactional email.
export const EMAIL = {
  from: 'Shop <orders@example.com>',
  to: 'customer@example.net',
  subject: 'Your order #12345 has shipped',
  text: 'Hello! '.repeat(150),
  html: `<p>${'Hello! '.repeat(40)}</p>`,
  tags: { kind: 'shipping' },
};
export const BODY = JSON.stringify(EMAIL);

/** The bench's topic layout for a set of topic names. */
export const topicLayout = (topics) =>
  emailTopics({ ...topics, EMAILS_PARTITIONS: 12, RETRY_PARTITIONS: 6, DEAD_LETTER_PARTITIONS: 3, EVENTS_PARTITIONS: 6 });

/** The API's environment in a benchmark: production mode, the default log level, one key, no rate limit worth the name. */
export const apiEnv = (stackEnv, topics, port) => ({
  ...stackEnv,
  ...topics,
  NODE_ENV: 'production',
  // LOG_LEVEL as users run it (info: one access line a request, to /dev/null here).
  SUBMISSION_PORT: '0',
  PORT: String(port),
  API_KEYS: `bench:${KEY}`,
  SENDER_DOMAINS: 'example.com',
  RATE_LIMIT_PER_MINUTE: '1000000000',
  REQUEST_RATE_LIMIT_PER_MINUTE: '1000000000',
});
