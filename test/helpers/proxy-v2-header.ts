import { V2_SIGNATURE } from '../../services/api/src/proxy-v2.js';

/**
 * A PROXY v2 header as HAProxy's proxy-protocol.txt (2.2) lays it out: the signature, version 2 and
 * `command` (0 LOCAL, 1 PROXY), `family`, the length of what follows, then `addresses` and `tlvs`.
 */
export function proxyV2Header(command: number, family: number, addresses: number[], tlvs: number[] = []): Buffer {
  const rest = Buffer.from([...addresses, ...tlvs]);
  const fixed = Buffer.from([...V2_SIGNATURE, 0x20 | command, family, 0, 0]);
  fixed.writeUInt16BE(rest.length, 14);
  return Buffer.concat([fixed, rest]);
}
