// The fourth patch of scripts/patch-kafkajs.mjs: a record batch is encoded without joining its bytes.
//
// With the encoder patch (scripts/kafkajs-encoder-patch.mjs), a large record is held by reference up
// to the socket write, except in the record batch. kafkajs joined the batch's body into one buffer to
// compute its CRC-32C, and then the whole batch again to write it as length-prefixed bytes: two of
// the three copies of a 4 MB email that were left on the API's event loop.
//
// Patched, the CRC is computed over the body's pieces in turn (@node-rs/crc32 takes the CRC so far as
// its initial value), and the batch is written as its length and then its pieces, the bytes
// `writeBytes(batch.buffer)` wrote. The socket write still joins the request once. Where the native
// CRC cannot load, or the encoder lacks `pieces()` (an install patched before it had them), the body
// is joined and kafkajs' own function runs, as before. The test compares the bytes with kafkajs' own
// RecordBatch on random batches.

export const RECORD_BATCH_PATCH_MARKER = 'postline: a record batch is encoded without joining its bytes';

const ORIGINAL = `  const batch = new Encoder()
    .writeInt32(partitionLeaderEpoch)
    .writeInt8(MAGIC_BYTE)
    .writeUInt32(crc32C(batchBody.buffer))
    .writeEncoder(batchBody)

  return new Encoder().writeInt64(firstOffset).writeBytes(batch.buffer)
}
`;

const PATCHED = `  // ${RECORD_BATCH_PATCH_MARKER} (postline's scripts/kafkajs-record-batch-patch.mjs says why).
  const batch = new Encoder()
    .writeInt32(partitionLeaderEpoch)
    .writeInt8(MAGIC_BYTE)
    .writeUInt32(crc32COfPieces(batchBody))
    .writeEncoder(batchBody)

  // Bytes => INT32 length, then the bytes: what writeBytes(batch.buffer) wrote, without the join.
  return new Encoder().writeInt64(firstOffset).writeInt32(batch.size()).writeEncoder(batch)
}

let nativeCrc32C = null
try {
  nativeCrc32C = require('@node-rs/crc32').crc32c
} catch (error) {
  // Not installed, or no build for this platform: the joined body and kafkajs' function below.
}

const crc32COfPieces = encoder => {
  if (nativeCrc32C === null || typeof encoder.pieces !== 'function') return crc32C(encoder.buffer)
  let crc = 0
  for (const piece of encoder.pieces()) crc = nativeCrc32C(piece, crc)
  return crc
}
`;

/** In the form scripts/patch-kafkajs.mjs lists its patches. */
export const RECORD_BATCH_PATCH = {
  file: 'src/protocol/recordBatch/v0/index.js',
  original: ORIGINAL,
  patched: PATCHED,
  marker: RECORD_BATCH_PATCH_MARKER,
};
