import type { Codec } from '../../src/submission/part-codecs.js';

/** A seeded generator, so a failure can be run again. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `bytes` through `codec` in pieces of random sizes: as often a few bytes (a line) as up to `largest`. */
export function run(codec: Codec, bytes: Buffer, next: () => number, largest = 40_000): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * (next() < 0.5 ? 80 : largest));
    out.push(codec.write(bytes.subarray(at, at + size)));
    at += size;
  }
  out.push(codec.end());
  return Buffer.concat(out);
}

/** Text of `length` or a little more from `alphabet`'s pieces, some repeated into long runs. */
export function textOf(alphabet: string[], length: number, next: () => number, runs = 0.05, longest = 3000): string {
  let text = '';
  while (text.length < length) {
    const piece = alphabet[Math.floor(next() * alphabet.length)] as string;
    text += piece.repeat(next() < runs ? 1 + Math.floor(next() * longest) : 1);
  }
  return text;
}
