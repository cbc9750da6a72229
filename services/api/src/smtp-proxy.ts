import { BlockList, isIP, type Socket } from 'node:net';
import { fields } from '@postline/runtime';
import type { SMTPServer } from 'smtp-server';
import { z } from 'zod';
import { plainAddress } from './client-address.js';
import { type Ends, parseProxyV2, V2_SIGNATURE } from './proxy-v2.js';

const familyOf = (address: string) => (isIP(address) === 4 ? 'ipv4' : 'ipv6');

/** An address, or a network in CIDR form (`10.0.0.0/8`, `fd00::/8`); null when it is neither. */
function balancerEntry(entry: string): { address: string; type: 'ipv4' | 'ipv6'; prefix?: number } | null {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return null;
  if (prefix === undefined) return { address, type: familyOf(address) };
  if (!/^\d+$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return null;
  return { address, type: familyOf(address), prefix: Number(prefix) };
}

/** A comma-separated list of addresses or CIDR networks; `what` they are is in the boot error. */
export const networkList = (what: string) =>
  fields.commaList
    .pipe(z.array(z.string().refine((entry) => balancerEntry(entry) !== null, `must be IP addresses or CIDR networks: ${what}`)))
    .default([]);

/**
 * The load balancers in front of an SMTP listener that open each connection with a PROXY protocol
 * header (version 1: HAProxy's `send-proxy`, nginx's `proxy_protocol on`; version 2: AWS NLB,
 * HAProxy's `send-proxy-v2`, Envoy), as a comma-separated list of their addresses or networks
 * (a balancer's pods or nodes change address: Kubernetes). Without it every client behind a balancer has the
 * balancer's address: the share of one client (50 connections) becomes the share of all of them,
 * and logs name the balancer. Only connections from these may carry a header (and must), so a
 * client that reaches the listener directly cannot claim another's address.
 */
export const proxyFrom = networkList('the load balancers that send a PROXY header');

/** Bytes a balancer has to send its PROXY v2 header in; a header is one packet in practice. */
const HEADER_TIMEOUT_MS = 10_000;

/**
 * Puts `server` behind the balancers in `from` (nothing when none are listed). smtp-server reads
 * a PROXY v1 line itself, from exact addresses only; so every connection reaches it with a v1 line
 * of ours in front: from a listed balancer, the v2 header it sent rewritten as v1 (a v1 header,
 * or anything else, passes as it came: smtp-server reads or refuses it); from anyone else, a line
 * naming the connection's own address, so a header such a client sends is an unknown command.
 */
export function acceptBehindBalancers(server: SMTPServer, from: readonly string[]): void {
  if (from.length === 0) return;
  const balancers = new BlockList();
  for (const entry of from) {
    const { address, type, prefix } = balancerEntry(entry) as NonNullable<ReturnType<typeof balancerEntry>>; // checked at boot (proxyFrom)
    if (prefix === undefined) balancers.addAddress(address, type);
    else balancers.addSubnet(address, prefix, type);
  }
  server.options.useProxy = true;
  // smtp-server's own handler, which net.createServer made its 'connection' listener.
  const handlers = server.server.listeners('connection') as ((socket: Socket) => void)[];
  server.server.removeAllListeners('connection');
  // Balancers' connections still waiting for their header: closing the server ends them, as
  // smtp-server ends those waiting for a v1 line (a waiting one would hold the close up to 10 s).
  const waiting = new Set<Socket>();
  const close = server.close.bind(server);
  server.close = (callback?: () => void) => {
    for (const socket of waiting) socket.destroy();
    return close(callback);
  };
  server.server.on('connection', (socket: Socket) => {
    const pass = (line: Buffer) => {
      waiting.delete(socket);
      if (line.length > 0) socket.unshift(line);
      for (const handler of handlers) handler(socket);
    };
    const drop = () => {
      waiting.delete(socket);
      socket.on('error', () => {}); // a late ECONNRESET must not surface as an uncaught exception
      socket.destroy();
    };
    const remote = plainAddress(socket.remoteAddress ?? '');
    if (isIP(remote) === 0) return drop(); // gone before it was handled: no address left to read
    if (!balancers.check(remote, familyOf(remote))) return pass(Buffer.from(v1Line(ownEnds(socket))));
    waiting.add(socket);
    readV2(socket).then(pass, drop);
  });
}

/** The v1 line that names `ends`. */
function v1Line({ source, destination, sourcePort, destinationPort }: Ends): string {
  const family = isIP(source) === 6 || isIP(destination) === 6 ? 'TCP6' : 'TCP4';
  return `PROXY ${family} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`;
}

/** A connection's own ends. */
const ownEnds = (socket: Socket): Ends => ({
  source: plainAddress(socket.remoteAddress ?? ''),
  destination: plainAddress(socket.localAddress ?? ''),
  sourcePort: socket.remotePort ?? 0,
  destinationPort: socket.localPort ?? 0,
});

/**
 * The first bytes of a balancer's connection. A v2 header becomes its v1 line (followed by what
 * came after it); anything else comes back as it came, once it differs from the v2 signature.
 */
function readV2(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no PROXY header in time')), HEADER_TIMEOUT_MS);
    const finish = (error: Error | null, bytes?: Buffer) => {
      clearTimeout(timer);
      socket.off('readable', read);
      socket.off('error', finish);
      socket.off('end', ended);
      socket.off('close', ended);
      if (error) reject(error);
      else resolve(bytes as Buffer);
    };
    const ended = () => finish(new Error('closed before its PROXY header'));
    function read() {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        received = Buffer.concat([received, chunk]);
      }
      const seen = received.subarray(0, V2_SIGNATURE.length);
      if (!seen.equals(V2_SIGNATURE.subarray(0, seen.length))) return finish(null, received);
      const header = parseProxyV2(received);
      if (header instanceof Error) return finish(header);
      if (!header) return;
      const line = v1Line(header.ends ?? ownEnds(socket));
      finish(null, Buffer.concat([Buffer.from(line), received.subarray(header.length)]));
    }
    socket.on('readable', read);
    socket.on('error', finish);
    socket.on('end', ended);
    socket.on('close', ended);
  });
}
