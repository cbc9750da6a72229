/** PROXY protocol v2's signature (HAProxy's proxy-protocol.txt, section 2.2). */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** The fixed part: signature, version and command, family, length. */
const FIXED = 16;
/** The most a header may take, addresses and TLVs included (AWS's TLVs are tens of bytes). */
export const MAX_V2_BYTES = FIXED + 1024;

export interface Ends {
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
}

/**
 * The v2 header at the start of `bytes`: its length and the connection it names, or `ends` null
 * when it names none (LOCAL: the balancer's own health check; UDP or a UNIX socket: no client
 * address). Null while the header is not all there yet; an Error when it is not a header we take.
 */
export function parseProxyV2(bytes: Buffer): { length: number; ends: Ends | null } | null | Error {
  if (bytes.length < FIXED) return null;
  const versionCommand = bytes[12] as number;
  const family = bytes[13] as number;
  const length = FIXED + bytes.readUInt16BE(14);
  const command = versionCommand & 0x0f;
  if (versionCommand >> 4 !== 2 || command > 1) return new Error('not a PROXY v2 header');
  if (length > MAX_V2_BYTES) return new Error('PROXY v2 header too long');
  if (bytes.length < length) return null;
  if (command === 0) return { length, ends: null };
  const ipv4 = family === 0x11;
  const ipv6 = family === 0x21;
  if (!ipv4 && !ipv6) return { length, ends: null };
  const size = ipv4 ? 4 : 16;
  if (length < FIXED + 2 * size + 4) return new Error('PROXY v2 header shorter than its addresses');
  const at = (i: number) => bytes.subarray(FIXED + i * size, FIXED + (i + 1) * size);
  const address = ipv4 ? (b: Buffer) => b.join('.') : ipv6Text;
  return {
    length,
    ends: {
      source: address(at(0)),
      destination: address(at(1)),
      sourcePort: bytes.readUInt16BE(FIXED + 2 * size),
      destinationPort: bytes.readUInt16BE(FIXED + 2 * size + 2),
    },
  };
}

/** 16 bytes as an IPv6 address in its canonical (compressed, lower-case) text. */
function ipv6Text(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(2 * i).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}
