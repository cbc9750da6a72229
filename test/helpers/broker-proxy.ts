import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Test } from 'tap';
import { PROXIED_ADVERTISED_OFFSET, PROXIED_LISTEN_OFFSET } from '../../packages/stack/src/kafka-proxied-listener.js';

/** One client-to-broker connection through the proxy, and what waits while its path is cut. */
interface Pipe {
  node: number;
  /** The port the client connected to: the broker's proxied listener is at a fixed offset from it. */
  advertisedPort: number;
  client: Socket;
  broker: Socket | null;
  toBroker: Buffer[];
  toClient: Buffer[];
}

/**
 * A TCP proxy in front of each broker's proxied listener (packages/stack/src/kafka-proxied-listener.ts):
 * the services given `brokers` reach Kafka only through it, the brokers and every other client
 * directly. `cut(node)` is a network partition between those services and one broker that stays
 * up and keeps leading its partitions: no byte crosses either way and nothing is refused or
 * reset, as when a route or a firewall drops the packets; a client learns it only from its own
 * timeouts. New connections are accepted (a real one would wait in SYN; either way no request
 * is answered). `heal()` delivers what waited, in order, as TCP does once its retransmissions
 * get through (Linux keeps retrying for about 15 minutes), and connects the held connections.
 */
export class BrokerProxy {
  private readonly servers: Server[] = [];
  private readonly pipes = new Set<Pipe>();
  private readonly cutNodes = new Set<number>();

  private constructor(private readonly ports: number[]) {}

  /** Listens at the advertised ports of `proxiedBrokers` (STACK_KAFKA_PROXIED_BROKERS); closed at teardown. */
  static async start(t: Test, proxiedBrokers: string): Promise<BrokerProxy> {
    const ports = proxiedBrokers.split(',').map((address) => Number(address.split(':').at(-1)));
    const proxy = new BrokerProxy(ports);
    t.teardown(() => proxy.close());
    for (const [index, port] of ports.entries()) {
      const server = createServer((client) => proxy.accept(index + 1, client, port));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      proxy.servers.push(server);
    }
    return proxy;
  }

  /** KAFKA_BROKERS for a service that should reach Kafka through the proxy. */
  get brokers(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  /** Node `node` (1-based) unreachable through the proxy, both ways, until heal(). */
  cut(node: number): void {
    this.cutNodes.add(node);
  }

  heal(): void {
    this.cutNodes.clear();
    for (const pipe of this.pipes) this.flush(pipe);
  }

  private accept(node: number, client: Socket, advertisedPort: number): void {
    const pipe: Pipe = { node, advertisedPort, client, broker: null, toBroker: [], toClient: [] };
    this.pipes.add(pipe);
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      pipe.toBroker.push(chunk);
      this.flush(pipe);
    });
    const end = () => this.end(pipe);
    client.on('error', end).on('close', end);
    this.flush(pipe);
  }

  /** Moves what waits on `pipe` unless its node is cut, connecting to the broker first if need be. */
  private flush(pipe: Pipe): void {
    if (this.cutNodes.has(pipe.node) || pipe.client.destroyed) return;
    if (!pipe.broker) {
      const port = pipe.advertisedPort - PROXIED_ADVERTISED_OFFSET + PROXIED_LISTEN_OFFSET;
      const broker = connect(port, '127.0.0.1');
      broker.setNoDelay(true);
      pipe.broker = broker;
      broker.on('data', (chunk: Buffer) => {
        pipe.toClient.push(chunk);
        this.flush(pipe);
      });
      const end = () => this.end(pipe);
      broker.on('error', end).on('close', end);
    }
    for (const chunk of pipe.toBroker.splice(0)) pipe.broker.write(chunk);
    for (const chunk of pipe.toClient.splice(0)) pipe.client.write(chunk);
  }

  /** Either side closed: so does the other. */
  private end(pipe: Pipe): void {
    this.pipes.delete(pipe);
    pipe.client.destroy();
    pipe.broker?.destroy();
  }

  private async close(): Promise<void> {
    for (const pipe of this.pipes) this.end(pipe);
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
