// The SMTP sink's own process: the load generator's event loop must not delay its replies.
// Reports each arrival to the parent as [Message-ID, ms on the host's monotonic clock (sink.mjs' now()), Date.now()];
// 'reset' is answered 'reset'.
import { SMTPServer } from 'smtp-server';
import { now } from './sink.mjs';

const seen = new Set();
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
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(head)?.[1] ?? '';
      const first = id !== '' && !seen.has(id);
      if (first) seen.add(id);
      process.send([first ? id : '', now(), Date.now()]);
      callback(null, 'Ok');
    });
  },
});
// A killed client resets its socket: an 'error' event, not a crash of the benchmark.
server.on('error', () => {});
process.on('message', (m) => {
  if (m === 'reset') {
    seen.clear();
    process.send('reset');
  }
});
process.on('disconnect', () => process.exit(0));
server.listen(0, '127.0.0.1', () => process.send({ port: server.server.address().port }));
