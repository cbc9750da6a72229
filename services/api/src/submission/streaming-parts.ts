import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { Joiner, type MimeNode, Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import { MessageUnreadableError } from '../errors.js';
import { addressHeaderBudget } from './address-headers.js';
import { Coalesce } from './coalesce.js';
import { flowedDecoder } from './flowed-codec.js';
import { base64Decoder, base64Encoder, type Codec, chain, EMPTY, japaneseToUtf8 } from './part-codecs.js';
import { qpDecoder } from './qp-codec.js';
import type { TextTable } from './text-assembly.js';

/**
 * What mailparser reads as text (its textTypes): a part of another type, or not inline, is an
 * attachment it does not charset-decode. message/delivery-status is text unless mailparser is
 * told to keep it (keepDeliveryStatus, as the bounce listener does).
 */
const textTypes = (keepDeliveryStatus: boolean) =>
  new Set(['text/plain', 'text/html', ...(keepDeliveryStatus ? [] : ['message/delivery-status'])]);
/**
 * The most line breaks the parts mailparser reads as text may have, together. mailparser made a
 * part's text one string and read its CRLFs as LF with one regular expression, in one turn of the
 * event loop: 1.6 million (a 4.8 MB message of empty lines) took 103 MB of heap and 290 ms, and
 * three of those at once ended the API (its heap is 128 MB). The texts are now made before it
 * (TextTable), but it still makes them when its tokens do not come back (readMessage), and every
 * line goes on to the request's validation and the mailer's MIME build. Text written to be read
 * has lines of tens of bytes: 200,000 of them fill SUBMISSION_MAX_BYTES at 26 bytes a line.
 */
export const MAX_TEXT_LINES = 200_000;
/**
 * The most a part's header block may hold (mailsplit's maxHeadSize: its bytes, each line counted
 * as at least 64), postfix's header_size_limit. mailsplit's own default is 1 MiB, and mailparser
 * reads the address headers of a block in one turn of the event loop: a To of 30,000 addresses
 * (780 KB) held it 164 ms, one of 3,800 (99 KB) 24-39 ms.
 */
export const MAX_HEAD_BYTES = 100 * 1024;
/**
 * The message goes to the splitter in pieces this size: each is split, its headers parsed and its
 * lines rewritten, in a turn of the event loop. A message of 999 small parts held the loop 26 ms
 * in pieces of 16 KiB (about 400 parts' headers a turn), 18 ms in pieces of 4 KiB.
 */
const FEED_BYTES = 4 * 1024;

function readAsText(node: MimeNode, types: Set<string>): boolean {
  const type = node.contentType || (node.root ? 'text/plain' : '');
  return types.has(type) && (!node.disposition || node.disposition === 'inline');
}

/** Counts the line breaks of the text parts of a message, and refuses it past MAX_TEXT_LINES. */
function lineCount(): () => Codec {
  let lines = 0;
  return () => ({
    write(chunk) {
      for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) lines++;
      if (lines > MAX_TEXT_LINES) throw new MessageUnreadableError(`its text has more than ${MAX_TEXT_LINES} lines`);
      return chunk;
    },
    end: () => EMPTY,
  });
}

/**
 * The codec that rewrites a part as base64 of what mailparser would read from it, or null for a
 * part left as it came. The steps mailparser's libraries take in one piece at the part's end are
 * taken here a piece at a time, in mailparser's order, and the part's headers no longer ask for
 * them: quoted-printable (libqp's stream), format=flowed (mailsplit's FlowedDecoder), a Japanese
 * charset (libmime keeps the part for encoding-japanese; the bytes become UTF-8, and the charset
 * says so). Every part mailparser reads as text is rewritten, so its lines are counted
 * (`counted`). Base64 carries any bytes, so a decoded part cannot turn into a MIME boundary or
 * a header. A multipart's own lines and an embedded message mailsplit reads into are left alone.
 */
function rewriteOf(node: MimeNode, counted: () => Codec, types: Set<string>, texts?: TextTable): Codec | null {
  if (node.multipart || node.messageNode || !node.headers) return null;
  const encoding = node.encoding || '';
  const text = readAsText(node, types);
  if (!text && encoding !== 'quoted-printable') return null;
  const steps: Codec[] = [];
  if (encoding === 'quoted-printable') steps.push(qpDecoder());
  else if (encoding === 'base64') steps.push(base64Decoder());
  if (text && node.flowed) {
    steps.push(flowedDecoder(node.delSp));
    node.flowed = false;
    node.delSp = false;
    node.setContentType(false); // drops format= and delsp=
  }
  const japanese = text && node.charset ? japaneseToUtf8(node.charset) : null;
  if (japanese) {
    steps.push(japanese);
    node.setCharset('utf-8');
  }
  if (text) steps.push(counted());
  if (text && texts) {
    steps.push(texts.part(japanese ? 'utf-8' : node.charset || undefined));
    node.setCharset('utf-8');
  }
  steps.push(base64Encoder());
  node.headers.update('Content-Transfer-Encoding', 'base64');
  return chain(steps);
}

const LINE_END = new Set([0x0a, 0x0d]);

/** What `work` threw, or null. */
function attempt(work: () => void): Error | null {
  try {
    work();
    return null;
  } catch (error) {
    return error as Error;
  }
}

/** Between mailsplit's splitter and joiner: each part's body through the codec its headers were rewritten for. */
class PartRewriter extends Transform {
  private node: MimeNode | null = null;
  private codec: Codec | null = null;
  /** Whether the part's body, as it came, ended with a line break. */
  private broken = false;
  private readonly counted = lineCount();
  private readonly addresses = addressHeaderBudget();

  constructor(
    private readonly types: Set<string>,
    private readonly texts?: TextTable,
  ) {
    super({ objectMode: true });
  }

  // A codec's refusal (the line count) is the stream's error, not an exception out of write().
  override _transform(chunk: SplitterChunk, _encoding: BufferEncoding, done: TransformCallback): void {
    done(
      attempt(() => {
        if (chunk.type === 'body' && this.codec && chunk.node === this.node) {
          if (chunk.value.length > 0) this.broken = LINE_END.has(chunk.value[chunk.value.length - 1] as number);
          this.give(this.codec.write(chunk.value));
        } else {
          this.endPart();
          if (chunk.type === 'node') {
            this.addresses(chunk);
            this.node = chunk;
            this.codec = rewriteOf(chunk, this.counted, this.types, this.texts);
          }
          this.push(chunk);
        }
      }),
    );
  }

  override _flush(done: TransformCallback): void {
    done(attempt(() => this.endPart()));
  }

  private give(value: Buffer): void {
    if (value.length > 0) this.push({ type: 'body', node: this.node, value });
  }

  /**
   * mailsplit gives the line break before a boundary with the boundary, but an empty part's with
   * the part: the joiner then writes the boundary right after the part's body, and a rewritten body
   * that ends without one ran into it ("DQo=--b"), turning the next part's headers into this
   * one's text.
   */
  private endPart(): void {
    if (this.codec) {
      this.give(this.codec.end());
      if (this.broken) this.give(Buffer.from('\r\n'));
    }
    this.node = null;
    this.codec = null;
    this.broken = false;
  }
}

/**
 * The submitted message as mailparser should read it: the same MIME tree, with the parts whose
 * decoding mailparser's libraries do in one piece at the part's end rewritten as base64 of their
 * decoded bytes, decoded here a piece at a time (rewriteOf); a 4.8 MB quoted-printable part held
 * the event loop for 100-200 ms. Given `texts`, each text part is made into its text here too
 * and given to mailparser as a token (text-assembly.ts; readMessage puts the texts back).
 */
export function streamingParts(
  raw: Buffer,
  { keepDeliveryStatus = false, texts }: { keepDeliveryStatus?: boolean; texts?: TextTable } = {},
): Readable {
  const out = new Coalesce();
  const pieces = function* () {
    for (let at = 0; at < raw.length; at += FEED_BYTES) yield raw.subarray(at, at + FEED_BYTES);
  };
  // mailsplit's types declare only a 'data' event on its streams; the joiner is a Transform.
  const joiner = new Joiner() as unknown as Transform;
  pipeline(
    Readable.from(pieces()),
    new Splitter({ maxHeadSize: MAX_HEAD_BYTES }),
    new PartRewriter(textTypes(keepDeliveryStatus), texts),
    joiner,
    out,
    (error) => {
      if (error) out.destroy(error);
    },
  );
  return out;
}
