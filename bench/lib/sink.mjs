// An SMTP sink that records when each Message-ID arrived (the end of the pipeline).
import { SMTPServer } from 'smtp-server';

export async function startSink() {
  const arrivals = new Map();
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (c) => {
        if (head.length < 4096) head += c.toString('utf8');
      });
      stream.on('end', () => {
        const id = /^Message-ID:\s*(<[^>]+>)/im.exec(head)?.[1];
        if (id && !arrivals.has(id)) arrivals.set(id, performance.now());
        count++;
        callback(null, 'Ok');
      });
    },
  });
  // A killed client resets its socket: an 'error' event, not a crash of the benchmark.
  server.on('error', () => {});
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.server.address();
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    arrivals,
    get count() {
      return count;
    },
    reset() {
      arrivals.clear();
      count = 0;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
