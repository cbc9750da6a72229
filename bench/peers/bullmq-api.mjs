// G1's peer: what a Node team would build instead of postline. A fastify + zod service that
// validates the same email request and adds it to a BullMQ queue on one Redis (AOF, fsync every
// second), answering 202 once Redis has the job. Its durability is weaker than ours (one copy, up to
// a second of acknowledged jobs lost on a crash), so it is the fast end of what users compare us to.
// Written the way its docs show, with nothing tuned for the benchmark: one queue, one connection.
// Env: PORT, REDIS_URL, API_KEY.
import { timingSafeEqual } from 'node:crypto';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { z } from 'zod';

const address = z.union([z.email(), z.string().regex(/^[^<>]*<[^<>@\s]+@[^<>@\s]+>$/)]);
const addresses = z.union([address, z.array(address).min(1).max(50)]);
const Email = z
  .object({
    from: address,
    to: addresses,
    cc: addresses.optional(),
    bcc: addresses.optional(),
    subject: z.string().min(1).max(998),
    text: z.string().max(1_000_000).optional(),
    html: z.string().max(1_000_000).optional(),
    tags: z.record(z.string().max(256), z.string().max(256)).optional(),
  })
  .refine((e) => e.text !== undefined || e.html !== undefined, 'text or html is required');

const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const queue = new Queue('emails', { connection: { host: url.hostname, port: Number(url.port) } });
const key = Buffer.from(`Bearer ${process.env.API_KEY ?? ''}`);

const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
app.addHook('onRequest', async (request, reply) => {
  if (request.url === '/readyz' || request.url === '/reset') return;
  const given = Buffer.from(request.headers.authorization ?? '');
  if (given.length !== key.length || !timingSafeEqual(given, key)) return reply.status(401).send({ error: 'unauthorized' });
});
app.post('/v1/emails', async (request, reply) => {
  const parsed = Email.safeParse(request.body);
  if (!parsed.success) return reply.status(400).send({ error: parsed.error.issues });
  const job = await queue.add('send', parsed.data, { removeOnComplete: true, attempts: 5, backoff: { type: 'exponential', delay: 1000 } });
  return reply.status(202).send({ id: job.id, status: 'queued' });
});
// The bench calls this between rounds. Nothing consumes the queue, and a queue growing by millions
// of jobs would make Redis rewrite its append-only file during the next round, which is someone
// else's (a worker with removeOnComplete keeps a real queue small).
app.post('/reset', async () => {
  await queue.obliterate({ force: true });
  return { ok: true };
});
app.get('/readyz', async () => {
  // A real Redis round trip, not just "a connection was made once".
  return { waiting: await queue.getWaitingCount() };
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
