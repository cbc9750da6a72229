import { z } from 'zod';
import { addrSpecProblem, INVISIBLE, MAX_NAME_LENGTH, type Mailbox, parseMailbox } from './mailbox.js';

/**
 * At the edge: one mailbox as a client writes it ("Jane <jane@example.com>"), parsed once into
 * `{ name, address }`. Nothing downstream ever sees, or re-parses, the string.
 */
export const mailboxString = z
  .string()
  .max(512)
  .transform((input, ctx): Mailbox => {
    const result = parseMailbox(input);
    if (result.ok) return result.mailbox;
    ctx.addIssue({ code: 'custom', message: result.reason });
    return z.NEVER;
  })
  .meta({ description: 'One mailbox: "jane@example.com" or "Jane Doe <jane@example.com>" (quote names with , ; : ( ) @ etc.)' });

/** Downstream (the Kafka envelope): the structure, re-checked field by field — from any producer. */
export const mailboxObject = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(MAX_NAME_LENGTH)
    .refine((n) => !INVISIBLE.test(n), 'must not contain control or invisible formatting characters')
    .optional(),
  address: z.string().superRefine((address, ctx) => {
    const problem = addrSpecProblem(address);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
});
