import { createServer, type Server } from 'node:http';
import type { Stack } from './stack.js';

/**
 * A loopback HTTP API over the stack's processes, for fault tests: the launcher stays the
 * only owner (and reaper) of every JVM and postmaster, while tests in other processes can
 * kill, stop and start a Kafka node or Postgres.
 *
 *   GET  /kafka                       → [{ id, state, pid, address }]
 *   POST /kafka/:id/(kill|stop|start)
 *   POST /postgres/(stop|start|kill)
 */
export async function startControlServer(stack: Stack): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const url = req.url ?? '/';
      if (req.method === 'GET' && url === '/kafka' && stack.kafka) {
        return reply(
          200,
          stack.kafka.nodes.map((n) => ({ id: n.id, state: n.state, pid: n.pid, address: n.clientAddress })),
        );
      }
      const kafkaAction = /^\/kafka\/(\d+)\/(kill|stop|start)$/.exec(url);
      if (req.method === 'POST' && kafkaAction && stack.kafka) {
        const node = stack.kafka.node(Number(kafkaAction[1]));
        await node[kafkaAction[2] as 'kill' | 'stop' | 'start']();
        return reply(200, { id: node.id, state: node.state });
      }
      const pgAction = /^\/postgres\/(stop|start|kill)$/.exec(url);
      if (req.method === 'POST' && pgAction && stack.postgres) {
        await stack.postgres[pgAction[1] as 'stop' | 'start' | 'kill']();
        return reply(200, { running: stack.postgres.running });
      }
      reply(404, { error: 'not found (or that part of the stack is external)' });
    } catch (error) {
      reply(500, { error: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
