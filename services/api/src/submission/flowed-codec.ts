import { ByteSink, type Codec } from './part-codecs.js';

const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x3e; // ">"
const SIGNATURE = [0x2d, 0x2d, 0x20]; // "-- "

/**
 * format=flowed text (RFC 3676) unwrapped as it arrives, byte for byte what libmime's
 * decodeFlowed() gives for the whole part (flowed-codec.test.ts compares them): mailsplit's
 * FlowedDecoder, which mailparser uses, keeps the whole part and unwraps it at its end.
 * decodeFlowed's rules, as it applies them:
 * - lines end at LF or CRLF; a line's quote depth is its leading ">"s, and one space after them
 *   is part of its quote prefix;
 * - a line joins the paragraph before it (a soft break) when their depths are equal and the
 *   paragraph ends in a space, unless the paragraph is the signature separator "-- ". The joined
 *   line's prefix is dropped; at depth 0 one leading space is (space-stuffing); with delsp=yes the
 *   paragraph's last space is dropped instead;
 * - paragraphs are joined with LF, and the last one is dropped when it is empty;
 * - a space at the start of a line of that result (after LF, a bare CR, or the start) is dropped.
 */
export function flowedDecoder(delSp: boolean): Codec {
  // The line being read: its ">"s counted until its prefix is known, then its content.
  let lineDepth = 0;
  let inPrefix = true;
  let firstContent = true;
  let cr = false; // a CR held: a line end if LF follows
  // The paragraph: its depth, length, first bytes (for "-- "), and with delsp its trailing spaces,
  // held: each soft break takes one of them away.
  let started = false;
  let depth = 0;
  let length = 0;
  const head: number[] = [];
  let endsInSpace = false;
  let held = 0;
  let newlinePending = false;
  let previous = -1; // the last byte of the joined result, before its leading spaces are dropped

  const out = new ByteSink();
  const put = (byte: number) => {
    if (byte !== SPACE || (previous !== -1 && previous !== LF && previous !== CR)) out.byte(byte);
    previous = byte;
  };
  /** A byte of the current paragraph: the LF that joins it to the one before goes first. */
  const emit = (byte: number) => {
    if (newlinePending) {
      newlinePending = false;
      put(LF);
    }
    put(byte);
  };
  const isSignature = () => length === 3 && head[0] === SIGNATURE[0] && head[1] === SIGNATURE[1] && head[2] === SIGNATURE[2];
  const release = () => {
    for (; held > 0; held--) emit(SPACE);
  };
  const append = (byte: number) => {
    if (length < 3) head.push(byte);
    length++;
    endsInSpace = byte === SPACE;
    if (delSp && endsInSpace) held++;
    else {
      release();
      emit(byte);
    }
  };
  /** The line's prefix is known: it joins the paragraph, or starts the next one. */
  const beginLine = (spaceAfterQuotes: boolean) => {
    const soft = started && lineDepth === depth && endsInSpace && !isSignature();
    if (soft) {
      if (delSp) {
        // The paragraph ends in a space, so one is held: dropped. If more are, it still ends in one.
        held--;
        length--;
        head.length = Math.min(head.length, length);
        endsInSpace = held > 0;
      }
      // At depth 0 the one space is stuffing; a quoted line's was taken into its prefix.
      firstContent = lineDepth === 0 && !delSp;
      return;
    }
    if (started) {
      release();
      if (newlinePending) put(LF); // the paragraph that ends here was empty: it still counts
      newlinePending = true;
    }
    started = true;
    depth = lineDepth;
    length = 0;
    head.length = 0;
    endsInSpace = false;
    for (let i = 0; i < lineDepth; i++) emit(QUOTE);
    if (spaceAfterQuotes) emit(SPACE);
    firstContent = false;
  };
  const content = (byte: number) => {
    if (firstContent) {
      firstContent = false;
      if (byte === SPACE) return;
    }
    append(byte);
  };
  const endLine = () => {
    if (inPrefix) beginLine(false);
    inPrefix = true;
    lineDepth = 0;
  };
  const take = (byte: number) => {
    if (cr) {
      cr = false;
      if (byte === LF) return endLine();
      take2(CR);
    }
    if (byte === CR) {
      cr = true;
      return;
    }
    if (byte === LF) return endLine();
    take2(byte);
  };
  const take2 = (byte: number) => {
    if (inPrefix) {
      if (byte === QUOTE) {
        lineDepth++;
        return;
      }
      inPrefix = false;
      const stuffing = lineDepth > 0 && byte === SPACE;
      beginLine(stuffing);
      if (stuffing) return;
    }
    content(byte);
  };
  return {
    write(chunk) {
      for (const byte of chunk) take(byte);
      return out.take();
    },
    end() {
      if (cr) {
        cr = false;
        take2(CR);
      }
      // The last line, however short: decodeFlowed reads the text after the last line end as one.
      if (inPrefix) beginLine(false);
      release();
      // A last paragraph that is empty, with no prefix, is dropped, and the LF before it with it.
      return out.take();
    },
  };
}
