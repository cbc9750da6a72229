import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { ParsedMail } from 'mailparser';
import { MessageUnreadableError } from '../errors.js';
import { libmime } from './mime-libs.js';
import { type Codec, EMPTY } from './part-codecs.js';

/** The charsets mailparser reads as UTF-8 as they are (compared as it compares them); any other goes through libmime's decode stream. */
const AS_UTF8 = new Set(['ascii', 'usascii', 'utf8']);
const readAsUtf8 = (charset: string | undefined) => AS_UTF8.has((charset || 'utf-8').toLowerCase().replace(/[^a-z0-9]+/g, ''));

/** The bytes a text piece is decoded from at a time: mailsplit gives a part out a line at a time. */
const PIECE_BYTES = 16 * 1024;

/**
 * A part's text as mailparser makes it from the bytes its charset step gives out: UTF-8 to a
 * string, then every CRLF read as LF (its `/\r?\n/g`, which leaves a lone CR). Built a piece at a
 * time; a CR at a piece's end waits for the next piece, whose LF may belong to it. Pieces of
 * PIECE_BYTES, not a line each: joining 200,000 lines' strings at the end took 19 ms.
 */
export class TextBuilder {
  private readonly utf8 = new StringDecoder('utf8');
  private readonly pieces: string[] = [];
  private bytes: Buffer[] = [];
  private size = 0;
  private cr = false;

  add(bytes: Buffer): void {
    this.bytes.push(bytes);
    this.size += bytes.length;
    if (this.size >= PIECE_BYTES) this.decode();
  }

  finish(): string {
    this.decode();
    this.push(this.utf8.end());
    if (this.cr) this.pieces.push('\r');
    return this.pieces.join('');
  }

  private decode(): void {
    if (this.size === 0) return;
    this.push(this.utf8.write(this.bytes.length === 1 ? (this.bytes[0] as Buffer) : Buffer.concat(this.bytes, this.size)));
    this.bytes = [];
    this.size = 0;
  }

  private push(piece: string): void {
    if (piece.length === 0) return;
    const text = this.cr ? `\r${piece}` : piece;
    this.cr = text.endsWith('\r');
    this.pieces.push((this.cr ? text.slice(0, -1) : text).split('\r\n').join('\n'));
  }
}

/**
 * The most bytes libmime's decoder may hold without giving text out. Its double-byte decoder
 * (GBK, Big5, Shift_JIS, EUC-KR) waits for a byte below 0x30 to cut at, so 4.8 MB of GBK with no
 * line break, space or ASCII punctuation was decoded in one piece at the part's end: 75-119 ms
 * of event loop. Text has a line break every 998 bytes at most (RFC 5322), and one written without
 * line breaks (base64 carries that) still has spaces and punctuation; every other decoder gives out
 * text with each write, or holds at most 400 bytes (a UTF-16 or UTF-32 byte-order guess).
 */
export const MAX_HELD_BYTES = 64 * 1024;

/**
 * The texts of one message's text parts, made here a piece at a time as the parts go by, each
 * given to mailparser as a token to be replaced by it afterwards (fill). mailparser's own last
 * step makes a part's text in one turn of the event loop: UTF-8 to one string, then one regular
 * expression over it. 200,000 lines (the most MAX_TEXT_LINES lets through) held the loop 50-88 ms,
 * in ASCII, UTF-8, GBK or Big5 alike. A token holds a random nonce of the message's own, so a
 * message cannot write one.
 */
export class TextTable {
  /** Each token is this and the part's number. */
  private readonly prefix = `postline-text-${randomUUID()}-`;
  private readonly texts = new Map<string, string>();

  /**
   * The codec a text part's decoded bytes go through last (before the base64 that carries its
   * token): it reads them in the part's charset, as mailparser would, and gives out the part's
   * token at its end, or nothing for an empty text (mailparser skips the part then). The part's
   * headers must then name UTF-8, so mailparser reads the token as it is.
   */
  part(charset: string | undefined): Codec {
    const builder = new TextBuilder();
    if (readAsUtf8(charset)) {
      return {
        write(chunk) {
          builder.add(chunk);
          return EMPTY;
        },
        end: () => this.token(builder.finish()),
      };
    }
    // libmime's decode stream, the one mailparser pipes such a part through (a charset it does not
    // know or refuses, UTF-7 among them, read as UTF-8 there too). It decodes as it is written and
    // flushes within end(): its 'prefinish' comes after the flush.
    const decoder = libmime.createDecodeStream(charset);
    let held = 0;
    let flushed = false;
    decoder.on('data', (chunk: Buffer) => {
      held = 0;
      builder.add(chunk);
    });
    decoder.once('prefinish', () => {
      flushed = true;
    });
    // A transform's error is emitted a tick later, and its stream then never flushes: end() throws.
    let failure: Error | null = null;
    decoder.on('error', (error: Error) => {
      failure = error;
    });
    return {
      write(chunk) {
        held += chunk.length;
        decoder.write(chunk);
        if (held > MAX_HELD_BYTES) {
          throw new MessageUnreadableError(`its ${charset} text has more than ${MAX_HELD_BYTES} bytes in a run that cannot be cut`);
        }
        return EMPTY;
      },
      end: () => {
        decoder.end();
        if (!flushed) throw failure ?? new Error(`libmime's ${charset} decoder did not flush within end()`);
        return this.token(builder.finish());
      },
    };
  }

  /**
   * Puts each part's text in place of its token in mailparser's text and html. False when the
   * tokens did not come back one each, as mailparser reads a part that is not text (an
   * attachment's content would be its token): the caller then parses without them.
   */
  fill(mail: ParsedMail): boolean {
    if (this.texts.size === 0) return true;
    const seen = new Set<string>();
    let found = 0;
    const tokens = new RegExp(`${this.prefix}\\d+`, 'g');
    const filled = (value: string) =>
      value.replace(tokens, (token) => {
        found++;
        if (this.texts.has(token)) seen.add(token);
        return this.texts.get(token) ?? token;
      });
    if (typeof mail.text === 'string') mail.text = filled(mail.text);
    if (typeof mail.html === 'string') mail.html = filled(mail.html);
    return found === this.texts.size && seen.size === this.texts.size;
  }

  private token(text: string): Buffer {
    if (text.length === 0) return EMPTY;
    const token = `${this.prefix}${this.texts.size}`;
    this.texts.set(token, text);
    return Buffer.from(token, 'latin1');
  }
}
