// The third patch of scripts/patch-kafkajs.mjs: kafkajs' Encoder holds large buffers by reference.
//
// A produce request nests each record in encoders level by level (record, batch body, batch, its
// bytes, partition, topic, request, frame), and each level copied the one below into a fresh
// zero-filled buffer of the next power of two: for a 4 MB email, eight 4 MB copies and about 64 MB
// of buffers, on the API's event loop. Buffers outside V8's heap still count toward its collections:
// for 15 such requests, 288-433 ms of GC unpatched against 178-234 ms patched, and the longest
// block of each request 39-84 ms against 29-73 ms (CPU profiles of the API, 2026-12-04).
//
// Patched, a piece of HELD_MIN bytes or more is held, not copied, and a level takes its child's
// pieces as they are. One copy joins them where a single buffer is asked for (`buffer`: the socket
// write; the record batch's CRC and length-prefixed bytes read `pieces()` since the fourth patch,
// scripts/kafkajs-record-batch-patch.mjs). Small writes are copied as before.
//
// Safe because no encoder writes into memory it has handed out: a held piece lies below `offset`,
// and writing goes on past it. `allocUnsafe` is safe because every write method writes each byte it
// moves `offset` past, and nothing reads at or past `offset`; the test compares the bytes with the
// unpatched class's on random encodings.

export const ENCODER_PATCH_MARKER = 'postline: large buffers held by reference, joined once';

const ORIGINAL = `  toJSON() {
    return this.buffer.toJSON()
  }
}
`;

const PATCHED = `${ORIGINAL}
// ${ENCODER_PATCH_MARKER} (postline's scripts/kafkajs-encoder-patch.mjs says why).
const HELD_MIN = 64 * 1024
const Encoder = module.exports
const proto = Encoder.prototype
const writeBytes = proto.writeBytes

proto.ensureAvailable = function ensureAvailable(length) {
  if (this.offset + length > this.buf.length) {
    const newBuffer = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length))
    this.buf.copy(newBuffer, 0, 0, this.offset)
    this.buf = newBuffer
  }
}

proto.writeBufferInternal = function writeBufferInternal(buffer) {
  const length = buffer.length
  if (length < HELD_MIN) {
    this.ensureAvailable(length)
    buffer.copy(this.buf, this.offset, 0)
    this.offset += length
    return
  }
  if (this.held === undefined) {
    this.held = []
    this.heldLength = 0
  }
  if (this.offset > 0) {
    this.held.push(this.buf.subarray(0, this.offset))
    this.heldLength += this.offset
    this.buf = this.buf.subarray(this.offset)
    this.offset = 0
  }
  this.held.push(buffer)
  this.heldLength += length
}

// kafkajs' own makes room for the whole value first, which here would be an unused allocation.
proto.writeBytes = function (value) {
  if (!Buffer.isBuffer(value) || value.length < HELD_MIN) return writeBytes.call(this, value)
  this.writeInt32(value.length)
  this.writeBufferInternal(value)
  return this
}

// The bytes written so far, in order, without joining them (the record batch's CRC reads them so).
proto.pieces = function pieces() {
  const tail = this.buf.subarray(0, this.offset)
  return this.held === undefined ? [tail] : [...this.held, tail]
}

// As pieces() lists them, without an array for each of the many small encoders a request nests.
const writePiecesOf = (into, encoder) => {
  if (encoder.held !== undefined) for (const piece of encoder.held) into.writeBufferInternal(piece)
  into.writeBufferInternal(encoder.buf.subarray(0, encoder.offset))
}

proto.writeEncoder = function writeEncoder(value) {
  if (value == null || !Buffer.isBuffer(value.buf)) {
    throw new Error('value should be an instance of Encoder')
  }
  writePiecesOf(this, value)
  return this
}

proto.writeEncoderArray = function writeEncoderArray(value) {
  if (!Array.isArray(value) || value.some(v => v == null || !Buffer.isBuffer(v.buf))) {
    throw new Error('all values should be an instance of Encoder[]')
  }
  for (const v of value) writePiecesOf(this, v)
  return this
}

proto.size = function size() {
  return this.held === undefined ? this.offset : this.heldLength + this.offset
}

Object.defineProperty(proto, 'buffer', {
  configurable: true,
  get() {
    if (this.held === undefined) return this.buf.subarray(0, this.offset)
    const whole = Buffer.concat(this.pieces(), this.heldLength + this.offset)
    this.held = undefined
    this.heldLength = 0
    this.buf = whole
    this.offset = whole.length
    return whole
  },
})
`;

/** In the form scripts/patch-kafkajs.mjs lists its patches. */
export const ENCODER_PATCH = {
  file: 'src/protocol/encoder.js',
  original: ORIGINAL,
  patched: PATCHED,
  marker: ENCODER_PATCH_MARKER,
};
