import { Readable } from 'node:stream';

/** What one send saw of its message on the wire. */
export interface DataProbe {
  /** The server answered DATA (354) and the body started going out. */
  dataBegan: boolean;
}

/**
 * The message, handed to SMTPConnection as a stream only for the moment it is piped: the
 * connection pipes it into its DATA stream once the server answered DATA with 354, so `pipe()` is
 * when the body starts to go out — what tells an uncertain send from one that never began.
 */
export class MessageSource extends Readable {
  constructor(
    private readonly raw: Buffer,
    private readonly probe: DataProbe,
  ) {
    super();
  }
  override _read(): void {
    this.push(this.raw);
    this.push(null);
  }
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    this.probe.dataBegan = true;
    return super.pipe(destination, options);
  }
}
