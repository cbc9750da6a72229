import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  webhookId: string;
  type: string;
  emailId: string;
  recipient?: string;
  final: boolean;
  /** The event's own time (when the mailer decided it). */
  eventAt: number;
  receivedAt: number;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

/**
 * A webhook receiver as a user would write one: it verifies every request with the Standard
 * Webhooks reference library (`standardwebhooks`, not our code) and records what it accepted.
 * It can be told to be down (503), gone (410), or slow.
 */
export class WebhookReceiver {
  /** Verified deliveries answered 2xx. */
  readonly delivered: Delivery[] = [];
  /** Every request's webhook-id, whatever was answered (retries show up here more than once). */
  readonly attempts: string[] = [];
  /** Requests whose signature did not verify: must stay empty. */
  readonly badSignatures: string[] = [];
  /** Delivered webhook-ids, and deliveries by email id (scenarios reconcile thousands). */
  readonly deliveredIds = new Set<string>();
  private readonly byEmail = new Map<string, Delivery[]>();
  mode: 'ok' | 'down' | 'gone' = 'ok';
  delayMs = 0;
  secret = '';
  private readonly server: http.Server;

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        this.attempts.push(headers['webhook-id'] ?? '');
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        if (this.mode !== 'ok') {
          res.statusCode = this.mode === 'down' ? 503 : 410;
          return res.end();
        }
        let payload: Delivery['payload'];
        try {
          payload = new Webhook(this.secret).verify(body, headers) as Delivery['payload'];
        } catch (error) {
          this.badSignatures.push(`${headers['webhook-id']}: ${(error as Error).message}`);
          res.statusCode = 400;
          return res.end();
        }
        const data = payload.data as { emailId: string; recipient?: string; final?: boolean };
        const delivery: Delivery = {
          webhookId: headers['webhook-id'] ?? '',
          type: payload.type,
          emailId: data.emailId,
          ...(data.recipient ? { recipient: data.recipient } : {}),
          final: data.final === true,
          eventAt: Date.parse(payload.timestamp),
          receivedAt: Date.now(),
          payload,
        };
        this.delivered.push(delivery);
        this.deliveredIds.add(delivery.webhookId);
        this.byEmail.set(data.emailId, [...(this.byEmail.get(data.emailId) ?? []), delivery]);
        res.statusCode = 204;
        res.end();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /**
   * Registers this receiver through the API (`auth`: its request headers) for `events`, and keeps the
   * signing secret it is given. Resolves to the endpoint's id.
   */
  async subscribe(apiUrl: string, auth: Record<string, string>, events: string[] = ['*']): Promise<string> {
    const res = await fetch(`${apiUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ url: this.url, events }),
    });
    if (res.status !== 201) throw new Error(`webhook registration: ${res.status} ${await res.text()}`);
    const endpoint = (await res.json()) as { id: string; secret: string };
    this.secret = endpoint.secret;
    return endpoint.id;
  }

  /** Delivered events of `emailId`, in arrival order. */
  of(emailId: string): Delivery[] {
    return this.byEmail.get(emailId) ?? [];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
