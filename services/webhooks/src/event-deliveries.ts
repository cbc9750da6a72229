import { relayedEventSchema, webhookBody } from '@postline/contracts';
import type { NewDelivery } from '@postline/ledger';
import type { KafkaMessage } from 'kafkajs';
import type { EndpointCache } from './endpoint-cache.js';

function parseJson(value: Buffer | null): unknown {
  try {
    return JSON.parse(value?.toString('utf8') ?? 'null');
  } catch {
    return null;
  }
}

/**
 * The deliveries a batch of the events topic makes: one per endpoint subscribed to each event.
 * An event of a type this version does not know (a newer mailer's) is delivered as it came;
 * only a record that is no event at all is handed to `skipped`.
 */
export function deliveriesOf(
  messages: KafkaMessage[],
  endpoints: Pick<EndpointCache, 'subscribers'>,
  skipped: (message: KafkaMessage) => void,
): NewDelivery[] {
  const deliveries: NewDelivery[] = [];
  for (const message of messages) {
    const parsed = relayedEventSchema.safeParse(parseJson(message.value));
    if (!parsed.success) {
      skipped(message);
      continue;
    }
    const event = parsed.data;
    const body = webhookBody(event);
    for (const e of endpoints.subscribers(event.account, event.type)) {
      deliveries.push({ endpointId: e.id, eventId: event.id, eventType: event.type, emailId: event.data.emailId, body });
    }
  }
  return deliveries;
}
