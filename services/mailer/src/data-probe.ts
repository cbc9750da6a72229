import { PassThrough, type Readable } from 'node:stream';

/** What one send saw of its message on the wire. */
export interface DataProbe {
  /** The SMTP connection started reading the message body: the server had answered DATA (354). */
  dataBegan: boolean;
}

interface MailLike {
  data: { signal?: AbortSignal };
  message: { processFunc(fn: (input: Readable) => Readable): void };
}

/**
 * A nodemailer 'stream' plugin and the probes it fills, keyed by each send's AbortSignal (the
 * one per-send object nodemailer hands to plugins unchanged).
 *
 * Why a probe: the pool calls `createReadStream()` before it has a connection, and the SMTP
 * connection pipes that stream into the socket only once the server answered DATA with 354
 * (smtp-connection `send()`). The last stage of the stream is ours, so its `pipe()` call is the
 * moment the body starts going to the server — which no local "the stream ended" flag can
 * tell. The pool requeues a message onto another connection only when this stream was never
 * read, so a message whose DATA began is never sent twice by the pool itself.
 * Keep this the last stage: a later processFunc that reads eagerly (nodemailer's own DKIM
 * signer) would make every send look begun, so DKIM must sign before the message gets here.
 */
export function createDataProbes() {
  const probes = new WeakMap<AbortSignal, DataProbe>();
  const plugin = (mail: MailLike, callback: (err?: Error | null) => void) => {
    const probe = mail.data.signal ? probes.get(mail.data.signal) : undefined;
    if (probe) {
      // Runs once per createReadStream(), i.e. again for every requeue onto a new connection.
      mail.message.processFunc((input) => {
        const output = new PassThrough();
        // Not a 'data' listener: that would start the flow before the socket is attached.
        const pipe = output.pipe.bind(output);
        output.pipe = <T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T => {
          probe.dataBegan = true;
          return pipe(destination, options);
        };
        input.once('error', (error) => output.destroy(error));
        return input.pipe(output);
      });
    }
    callback();
  };
  return {
    plugin,
    /** A probe for one send, tied to its signal. */
    watch(signal: AbortSignal): DataProbe {
      const probe: DataProbe = { dataBegan: false };
      probes.set(signal, probe);
      return probe;
    },
  };
}
