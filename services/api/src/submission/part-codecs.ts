import { libbase64, libmime } from './mime-libs.js';

/** An incremental decoder or encoder: each write returns what can be given out so far. */
export interface Codec {
  write(chunk: Buffer): Buffer;
  end(): Buffer;
}

export const EMPTY = Buffer.alloc(0);

/** A decoder's output for one write, a byte at a time, then taken whole. */
export class ByteSink {
  private out: Buffer = EMPTY;
  private at = 0;

  /** At least `bytes` more fit without another allocation. */
  room(bytes: number): void {
    if (this.at + bytes <= this.out.length) return;
    const larger = Buffer.allocUnsafe(Math.max(256, (this.at + bytes) * 2));
    this.out.copy(larger, 0, 0, this.at);
    this.out = larger;
  }

  byte(value: number): void {
    if (this.at === this.out.length) this.room(1);
    this.out[this.at++] = value;
  }

  /** `bytes` from `start` on, copied. */
  bytes(bytes: Buffer, start: number): void {
    this.room(bytes.length - start);
    this.at += bytes.copy(this.out, this.at, start);
  }

  /** What was written since the last take. The next write allocates anew, so the result is the caller's. */
  take(): Buffer {
    const result = this.out.subarray(0, this.at);
    this.out = EMPTY;
    this.at = 0;
    return result;
  }
}
/**
 * Base64, decoded by libbase64 as its own stream cuts it: after the last padding character, and
 * then after the last whole group of four.
 */
export function base64Decoder(): Codec {
  let carry = '';
  return {
    write(chunk) {
      const text = carry + chunk.toString('latin1').replace(/[^a-zA-Z0-9+/=]/g, '');
      const padded = text.lastIndexOf('=') + 1;
      const whole = text.length - ((text.length - padded) % 4);
      carry = text.slice(whole);
      return whole > 0 ? libbase64.decode(text.slice(0, whole)) : EMPTY;
    },
    end() {
      const rest = carry;
      carry = '';
      return rest ? libbase64.decode(rest) : EMPTY;
    },
  };
}

/** Base64 in lines of 76 characters (57 bytes), as RFC 2045 writes it. */
export function base64Encoder(): Codec {
  let carry = EMPTY;
  const lines = (bytes: Buffer) => {
    const text = bytes.toString('base64');
    const out: string[] = [];
    for (let i = 0; i < text.length; i += 76) out.push(text.slice(i, i + 76));
    return out;
  };
  return {
    write(chunk) {
      const all = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const whole = all.length - (all.length % 57);
      carry = Buffer.from(all.subarray(whole));
      return whole > 0 ? Buffer.from(`${lines(all.subarray(0, whole)).join('\r\n')}\r\n`, 'latin1') : EMPTY;
    },
    end() {
      const rest = carry;
      carry = EMPTY;
      return Buffer.from(lines(rest).join('\r\n'), 'latin1');
    },
  };
}

/** The charsets libmime decodes with encoding-japanese, which has no incremental decoder: libmime keeps the whole part for it. */
const JAPANESE = /^jis|^iso-?2022-?jp|^EUCJP/i;

/**
 * A Japanese charset's text as UTF-8, decoded as it arrives by the WHATWG decoder (ICU): null for
 * any other charset, which libmime decodes as it arrives itself. The WHATWG decoder reads
 * ISO-2022-JP's JIS X 0208 and half-width katakana, not the JIS X 0212 of ISO-2022-JP-1/-2
 * (U+FFFD, where encoding-japanese would read it).
 */
export function japaneseToUtf8(charset: string): Codec | null {
  const name = libmime.normalizeCharset(charset);
  if (!JAPANESE.test(name)) return null;
  const decoder = new TextDecoder(/^EUCJP/i.test(name) ? 'euc-jp' : 'iso-2022-jp');
  return {
    write: (chunk) => Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8'),
    end: () => Buffer.from(decoder.decode(), 'utf8'),
  };
}

/** Each codec after the one before it, as one codec. */
export function chain(codecs: Codec[]): Codec {
  return codecs.reduce((first, second) => ({
    write: (chunk) => second.write(first.write(chunk)),
    end: () => Buffer.concat([second.write(first.end()), second.end()]),
  }));
}
