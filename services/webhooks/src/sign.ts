import { createHmac } from 'node:crypto';

/**
 * The Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256>` for each secret
 * (`whsec_<base64 key>`), space-separated, over `<webhook-id>.<webhook-timestamp>.<body>`.
 * Two secrets during a rotation: a receiver with either verifies.
 */
export function signature(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
    })
    .join(' ');
}
