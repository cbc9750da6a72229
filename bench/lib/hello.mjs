// G1's baseline: a bare fastify hello-world, run as its own process like the API.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.post('/v1/emails', async (_req, reply) => reply.status(202).send({ id: 'x', status: 'queued' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
