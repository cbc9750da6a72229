import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A tiny authoritative DNS server for tests: every A question is answered with `ipv4` (TTL 0),
 * a TXT question with the record in `txt` for that name (a DKIM key), every other question with
 * no answer. Changing `ipv4` is a DNS rebinding.
 */
export class TestDns {
  ipv4 = '127.0.0.1';
  /** TXT records by lower-case name, without the trailing dot. */
  readonly txt = new Map<string, string>();
  private readonly socket = dgram.createSocket('udp4');

  async start(): Promise<this> {
    this.socket.on('message', (query, peer) => {
      const answer = this.answer(query);
      if (answer) this.socket.send(answer, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    return this;
  }

  get server(): string {
    return `127.0.0.1:${(this.socket.address() as AddressInfo).port}`;
  }

  private answer(query: Buffer): Buffer | null {
    if (query.length < 12) return null;
    // The question: labels up to a zero byte, then QTYPE and QCLASS.
    let end = 12;
    while (end < query.length && query[end] !== 0) end += (query[end] as number) + 1;
    const question = query.subarray(12, end + 5);
    const qtype = query.readUInt16BE(end + 1);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0); // id
    header.writeUInt16BE(0x8400, 2); // response, authoritative, no error
    header.writeUInt16BE(1, 4); // one question
    if (qtype === 16) return this.answerTxt(header, question, query.subarray(12, end));
    if (qtype !== 1) return Buffer.concat([header, question]);
    header.writeUInt16BE(1, 6); // one answer
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(0, 6); // TTL 0: every lookup asks again
    rr.writeUInt16BE(4, 10);
    for (const [i, octet] of this.ipv4.split('.').entries()) rr.writeUInt8(Number(octet), 12 + i);
    return Buffer.concat([header, question, rr]);
  }

  private answerTxt(header: Buffer, question: Buffer, labels: Buffer): Buffer {
    const name: string[] = [];
    for (let i = 0; i < labels.length; i += (labels[i] as number) + 1)
      name.push(labels.subarray(i + 1, i + 1 + (labels[i] as number)).toString('latin1'));
    const value = this.txt.get(name.join('.').toLowerCase());
    if (value === undefined) return Buffer.concat([header, question]);
    // A TXT record is a list of strings of at most 255 bytes each; a 2048-bit key needs two.
    const text = Buffer.from(value, 'latin1');
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += 255) {
      const part = text.subarray(i, i + 255);
      chunks.push(Buffer.from([part.length]), part);
    }
    const rdata = Buffer.concat(chunks);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(16, 2); // TXT
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(0, 6);
    rr.writeUInt16BE(rdata.length, 10);
    header.writeUInt16BE(1, 6);
    return Buffer.concat([header, question, rr, rdata]);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
