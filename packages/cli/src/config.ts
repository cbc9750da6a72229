import { fields, type KafkaConnection, kafkaConnection, kafkaConnectionFields, parseEnv } from '@postline/runtime';
import { z } from 'zod';

/** What the CLI reads from the environment: the same names as the services. */
const schema = z.object({
  /** The API, for send/status/events. */
  POSTLINE_URL: z.string().url().default('http://127.0.0.1:3000'),
  /** An API key (as for Authorization: Bearer); npm start's development key by default. */
  POSTLINE_API_KEY: z.string().default('dev-key-change-me'),
  ...kafkaConnectionFields,
  KAFKA_BROKERS: kafkaConnectionFields.KAFKA_BROKERS.default(['127.0.0.1:9092']),
  DATABASE_URL: z.string().optional(),
  EMAILS_TOPIC: fields.topicFields.EMAILS_TOPIC,
  DEAD_LETTER_TOPIC: fields.topicFields.DEAD_LETTER_TOPIC,
});
export type CliConfig = z.output<typeof schema> & { kafka: KafkaConnection };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const c = parseEnv(schema, env);
  return { ...c, kafka: kafkaConnection(c) };
}
