// test-plan: standalone
import t from 'tap';
import { proxyV2Header } from '../../../../test/helpers/proxy-v2-header.js';
import { MAX_V2_BYTES, parseProxyV2 } from '../../src/proxy-v2.js';

// PROXY protocol v2 as HAProxy's proxy-protocol.txt (2.2) lays it out: the 12-byte signature,
// version and command, family, the length of what follows, the addresses, then TLVs.

const ports = [0x9c, 0x40, 0x02, 0x4b]; // 40000, 587

t.test('TCP4 and TCP6: the addresses and ports it names, and its length (TLVs included)', async (t) => {
  const v4 = proxyV2Header(1, 0x11, [192, 0, 2, 10, 10, 0, 0, 5, ...ports], [0x04, 0x00, 0x02, 0xaa, 0xbb]);
  t.same(parseProxyV2(v4), {
    length: v4.length,
    ends: { source: '192.0.2.10', destination: '10.0.0.5', sourcePort: 40000, destinationPort: 587 },
  });
  const source = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 0x01];
  const destination = [0xfd, 0x00, ...Array(13).fill(0), 0x02];
  const v6 = proxyV2Header(1, 0x21, [...source, ...destination, ...ports]);
  t.same(parseProxyV2(v6), {
    length: v6.length,
    ends: { source: '2001:db8::1', destination: 'fd00::2', sourcePort: 40000, destinationPort: 587 },
  });
  const withData = Buffer.concat([v4, Buffer.from('EHLO client.example\r\n')]);
  t.equal((parseProxyV2(withData) as { length: number }).length, v4.length, 'what follows the header is not part of it');
});

t.test('LOCAL (a health check), UDP and UNIX name no client', async (t) => {
  t.same(parseProxyV2(proxyV2Header(0, 0x00, [])), { length: 16, ends: null });
  t.same(parseProxyV2(proxyV2Header(1, 0x12, [192, 0, 2, 10, 10, 0, 0, 5, ...ports])), { length: 28, ends: null });
  t.same(parseProxyV2(proxyV2Header(1, 0x31, Array(216).fill(0))), { length: 232, ends: null });
});

t.test('incomplete: null until every byte of it came', async (t) => {
  const v4 = proxyV2Header(1, 0x11, [192, 0, 2, 10, 10, 0, 0, 5, ...ports]);
  for (const n of [0, 12, 15, 16, v4.length - 1]) t.equal(parseProxyV2(v4.subarray(0, n)), null, `${n} bytes`);
});

t.test('refused: another version or command, longer than 1 KiB, shorter than its addresses', async (t) => {
  const v4 = proxyV2Header(1, 0x11, [192, 0, 2, 10, 10, 0, 0, 5, ...ports]);
  const v3 = Buffer.from(v4);
  v3[12] = 0x31;
  t.match(parseProxyV2(v3), /not a PROXY v2 header/);
  const command2 = Buffer.from(v4);
  command2[12] = 0x22;
  t.match(parseProxyV2(command2), /not a PROXY v2 header/);
  const long = proxyV2Header(1, 0x11, Array(MAX_V2_BYTES - 16 + 1).fill(0));
  t.match(parseProxyV2(long.subarray(0, 16)), /too long/, 'told from its length field alone, before the bytes come');
  t.same(parseProxyV2(proxyV2Header(1, 0x11, Array(MAX_V2_BYTES - 16).fill(0))), {
    length: MAX_V2_BYTES,
    ends: { source: '0.0.0.0', destination: '0.0.0.0', sourcePort: 0, destinationPort: 0 },
  });
  t.match(parseProxyV2(proxyV2Header(1, 0x11, [192, 0, 2, 10])), /shorter than its addresses/);
  t.match(parseProxyV2(proxyV2Header(1, 0x21, Array(35).fill(0))), /shorter than its addresses/);
});
