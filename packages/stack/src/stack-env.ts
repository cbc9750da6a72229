import { fields, parseEnv } from '@postline/runtime';
import { z } from 'zod';
import { defaultDataDir } from './paths.js';

/** Where `npm start` / `npm run infra` put things; override when the defaults are taken. */
const schema = z.object({
  STACK_DATA_DIR: z.string().default(defaultDataDir),
  STACK_KAFKA_PORT: fields.port.default(9092),
  STACK_POSTGRES_PORT: fields.port.default(5432),
  STACK_INBOX_SMTP_PORT: fields.port.default(1025),
  STACK_INBOX_WEB_PORT: fields.port.default(1080),
});

export function stackOptionsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    dataDir: c.STACK_DATA_DIR,
    kafkaPort: c.STACK_KAFKA_PORT,
    postgresPort: c.STACK_POSTGRES_PORT,
    inboxSmtpPort: c.STACK_INBOX_SMTP_PORT,
    inboxWebPort: c.STACK_INBOX_WEB_PORT,
  };
}
