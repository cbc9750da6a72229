import { ByteSink, type Codec } from './part-codecs.js';

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Quoted-printable (RFC 2045), decoded as it arrives, byte for byte what libqp's decode() gives
 * for the whole part (qp-codec.test.ts compares them). libqp's own stream keeps the whole part
 * and decodes it at its end, 100-200 ms of the event loop in one piece for 4.8 MB; and libqp's
 * decode() run on pieces cannot split a run of "=" or of spaces, which an attacker writes.
 * libqp's three steps, in its order, each a state machine with its lookahead held:
 * 1. whitespace at the end of a line (or of the part) is dropped: a run of it is held until
 *    what follows it decides;
 * 2. soft line breaks ("=" then CRLF or LF, or "=" at the part's end) are dropped;
 * 3. "=" and two hex digits is a byte; any other "=" is itself.
 */
export function qpDecoder(): Codec {
  let run: Buffer[] = [];
  let soft = 0; // step 2: 1 after "=", 2 after "=\r"
  let inEscape = 0; // step 3: 1 after "=", 2 after "=" and a hex digit
  let highByte = 0; // step 3's hex digit, held
  const out = new ByteSink();
  const emit = (byte: number) => out.byte(byte);
  const step3 = (byte: number): void => {
    if (inEscape === 2) {
      inEscape = 0;
      const low = hexValue(byte);
      if (low >= 0) {
        emit(hexValue(highByte) * 16 + low);
        return;
      }
      emit(EQUALS);
      emit(highByte);
    } else if (inEscape === 1) {
      inEscape = 0;
      if (hexValue(byte) >= 0) {
        highByte = byte;
        inEscape = 2;
        return;
      }
      emit(EQUALS);
    }
    if (byte === EQUALS) inEscape = 1;
    else emit(byte);
  };
  const step2 = (byte: number): void => {
    if (soft === 2) {
      soft = 0;
      if (byte === LF) return;
      step3(EQUALS);
      step3(CR);
    } else if (soft === 1) {
      if (byte === LF) {
        soft = 0;
        return;
      }
      if (byte === CR) {
        soft = 2;
        return;
      }
      soft = 0;
      step3(EQUALS);
    }
    if (byte === EQUALS) soft = 1;
    else step3(byte);
  };
  /** Whitespace a non-space byte followed: kept. Its first byte ends what steps 2 and 3 held; the rest is copied as it is. */
  const flushRun = () => {
    if (run.length === 0) return;
    const all = run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run);
    run = [];
    step2(all[0] as number);
    out.bytes(all, 1);
  };
  return {
    write(chunk) {
      out.room(chunk.length + 2);
      let runStart = -1;
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i] as number;
        if (byte === SPACE || byte === TAB) {
          if (runStart < 0) runStart = i;
          continue;
        }
        if (runStart >= 0) run.push(chunk.subarray(runStart, i));
        runStart = -1;
        if (byte === CR || byte === LF) run = [];
        else flushRun();
        step2(byte);
      }
      // Copied: the run outlives this chunk, whose buffer is not ours to keep.
      if (runStart >= 0) run.push(Buffer.from(chunk.subarray(runStart)));
      return out.take();
    },
    end() {
      run = [];
      if (soft === 2) {
        step3(EQUALS);
        step3(CR);
      }
      soft = 0;
      if (inEscape === 2) {
        emit(EQUALS);
        emit(highByte);
      } else if (inEscape === 1) emit(EQUALS);
      inEscape = 0;
      return out.take();
    },
  };
}
