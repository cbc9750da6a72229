// test-plan: standalone
import t from 'tap';
import { markerScanner } from '../src/marker-scanner.js';

const MARKER = 'Kafka Server started';

t.test('finds the marker early in a chunk far larger than any buffer we keep', async (t) => {
  const seen = markerScanner(MARKER);
  t.notOk(seen('x'.repeat(10_000)));
  t.ok(seen(`[INFO] ${MARKER}\n${'partition loaded\n'.repeat(5_000)}`));
});

t.test('finds a marker split across chunks, one character at a time', async (t) => {
  const seen = markerScanner(MARKER);
  const text = `noise ${MARKER} tail`;
  const hits = [...text].map((c) => seen(Buffer.from(c)));
  t.equal(hits.indexOf(true), text.indexOf(MARKER) + MARKER.length - 1);
});

t.test('does not match what is not there', async (t) => {
  const seen = markerScanner(MARKER);
  t.notOk(seen('Kafka Server '));
  t.notOk(seen('stopped'));
  t.notOk(seen('Kafka Server start'));
});
