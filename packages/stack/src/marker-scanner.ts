/**
 * Watches a process's output, chunk by chunk, for a marker line ("Kafka Server started").
 * It keeps only enough of the previous chunk to catch a marker split across two chunks, so
 * memory stays bounded however much is logged. A chunk can be tens of KB (a restarted broker
 * logs every partition it reloads): trimming the joined text before searching it, as the
 * first version did, dropped a marker early in a large chunk and timed a healthy broker out.
 */
export function markerScanner(marker: string): (chunk: Buffer | string) => boolean {
  let carry = '';
  return (chunk) => {
    const text = carry + chunk.toString('utf8');
    if (text.includes(marker)) return true;
    carry = text.slice(Math.max(0, text.length - (marker.length - 1)));
    return false;
  };
}
