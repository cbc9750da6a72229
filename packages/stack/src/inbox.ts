import { MailDev } from 'maildev';
import { assertPortFree } from './ports.js';

export interface InboxOptions {
  smtpPort: number;
  webPort: number;
}

/** MailDev: a dev SMTP server whose web UI (and REST API under /api) shows what was sent. */
export class Inbox {
  private readonly maildev: MailDev;

  constructor(private readonly options: InboxOptions) {
    this.maildev = new MailDev({ smtp: options.smtpPort, web: options.webPort, ip: '127.0.0.1', webIp: '127.0.0.1', silent: true });
  }

  get smtpUrl(): string {
    return `smtp://127.0.0.1:${this.options.smtpPort}`;
  }

  get webUrl(): string {
    return `http://127.0.0.1:${this.options.webPort}`;
  }

  async start(): Promise<void> {
    await assertPortFree(this.options.smtpPort, 'the inbox SMTP port', 'stop the other inbox or set SMTP_URL');
    await assertPortFree(this.options.webPort, 'the inbox web UI', 'stop the other inbox or set SMTP_URL');
    // MailDev announces itself with an unconditional console.info, which would corrupt the
    // NAME=value lines `npm run infra` prints on stdout; the launcher reports the URL itself.
    const info = console.info;
    console.info = () => {};
    try {
      await this.maildev.start();
    } finally {
      console.info = info;
    }
  }

  async stop(): Promise<void> {
    await this.maildev.stop();
  }
}
