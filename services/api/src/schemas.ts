import { emailRequestSchema, type RequestLimits } from '@postline/contracts';
import { z } from 'zod';

/** The request bodies of the API, built from the shared contract with this deployment's limits. */
export function apiSchemas(limits: RequestLimits, maxBatch: number) {
  const email = emailRequestSchema(limits);
  return {
    email,
    batch: z.strictObject({ emails: z.array(email).min(1).max(maxBatch) }),
    accepted: z.object({ id: z.string(), status: z.literal('queued') }),
  };
}
