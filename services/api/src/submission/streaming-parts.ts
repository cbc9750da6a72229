import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { Joiner, type MimeNode, Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import { base64Decoder, base64Encoder, type Codec, chain, japaneseToUtf8, qpDecoder } from './part-codecs.js';

/** What mailparser reads as text (its textTypes): a part of another type, or not inline, is an attachment it does not charset-decode. */
const TEXT_TYPES = new Set(['text/plain', 'text/html', 'message/delivery-status']);
/** The message goes to the splitter in pieces this size: each is split, and its lines rewritten, in a turn of the event loop. */
const FEED_BYTES = 16 * 1024;

function readAsText(node: MimeNode): boolean {
  const type = node.contentType || (node.root ? 'text/plain' : '');
  return TEXT_TYPES.has(type) && (!node.disposition || node.disposition === 'inline');
}

/**
 * The codec that rewrites a part as base64 of what mailparser would decode from it, or null for a
 * part mailparser decodes as it arrives. Rewritten: quoted-printable (libqp's stream keeps the
 * whole part and decodes it at its end), and text in a Japanese charset (libmime keeps the
 * whole part for encoding-japanese), whose bytes become UTF-8 and its charset says so. Base64
 * carries any bytes, so a decoded part cannot turn into a MIME boundary or a header.
 */
function rewriteOf(node: MimeNode): Codec | null {
  if (node.multipart) return null;
  const encoding = node.encoding || '';
  const japanese = readAsText(node) && node.charset ? japaneseToUtf8(node.charset) : null;
  if (encoding !== 'quoted-printable' && !japanese) return null;
  let codec: Codec | null = encoding === 'quoted-printable' ? qpDecoder() : encoding === 'base64' ? base64Decoder() : null;
  if (japanese) {
    codec = codec ? chain(codec, japanese) : japanese;
    node.setCharset('utf-8');
  }
  if (node.headers) node.headers.update('Content-Transfer-Encoding', 'base64');
  return chain(codec as Codec, base64Encoder());
}

/** Between mailsplit's splitter and joiner: each part's body through the codec its headers were rewritten for. */
class PartRewriter extends Transform {
  private node: MimeNode | null = null;
  private codec: Codec | null = null;

  constructor() {
    super({ objectMode: true });
  }

  override _transform(chunk: SplitterChunk, _encoding: BufferEncoding, done: TransformCallback): void {
    if (chunk.type === 'body' && this.codec && chunk.node === this.node) this.give(this.codec.write(chunk.value));
    else {
      this.endPart();
      if (chunk.type === 'node') {
        this.node = chunk;
        this.codec = rewriteOf(chunk);
      }
      this.push(chunk);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.endPart();
    done();
  }

  private give(value: Buffer): void {
    if (value.length > 0) this.push({ type: 'body', node: this.node, value });
  }

  private endPart(): void {
    if (this.codec) this.give(this.codec.end());
    this.node = null;
    this.codec = null;
  }
}

/**
 * The submitted message as mailparser should read it: the same MIME tree, with the parts whose
 * decoding mailparser's libraries do in one piece at the part's end rewritten as base64 of their
 * decoded bytes, decoded here a piece at a time. mailparser then holds the event loop for no
 * part's whole length: a 4.8 MB quoted-printable part held it for 100-200 ms in one piece.
 */
export function streamingParts(raw: Buffer): Readable {
  const joiner = new Joiner();
  const pieces = function* () {
    for (let at = 0; at < raw.length; at += FEED_BYTES) yield raw.subarray(at, at + FEED_BYTES);
  };
  pipeline(Readable.from(pieces()), new Splitter(), new PartRewriter(), joiner, (error) => {
    if (error) joiner.destroy(error);
  });
  // mailsplit's types declare only a 'data' event on its streams; the joiner is a Transform.
  return joiner as unknown as Readable;
}
