import type { z } from 'zod';
import { ConfigError } from './config-error.js';

/**
 * Parses the environment once, at boot. Every problem is listed by variable name in one
 * readable sentence, so a bad deploy fails fast with something an operator can act on.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  // Empty strings mean "unset" (docker-compose and k8s often pass VAR= for optional ones).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || 'environment';
    return cleaned[name] === undefined && issue.code === 'invalid_type' ? `${name} is required` : `${name}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration — ${problems.join('; ')}.`);
}
