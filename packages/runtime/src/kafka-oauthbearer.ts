import kafkajs, { type AuthenticationProviderArgs, type Mechanism } from 'kafkajs';

/**
 * kafkajs' own error for a refused authentication (its types omit the message it takes; its
 * errors are spread into its CommonJS exports, which ESM sees only through the default export).
 */
const refused = (message: string) => new (kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(message);

const SOH = '\u0001';

/**
 * SASL OAUTHBEARER (RFC 7628, KIP-255) for kafkajs, in place of its own. kafkajs' own sends the token
 * and reads nothing back, but a broker that refuses a token does not answer with an error code
 * at first: it answers `{"status":"invalid_token"}` (RFC 7628 §3.2.2) and waits for the client to
 * end the exchange. kafkajs took that for success, and its next request, unauthenticated, read an
 * empty cluster: "No brokers in the broker pool", where a wrong audience or an expired token
 * should be said (seen against the test brokers: packages/runtime/test/kafka-oauth.test.ts).
 * Here any answer to the token is the broker's refusal, and the error carries its status.
 */
export function oauthBearer(token: () => Promise<{ value: string }>): Mechanism {
  return {
    mechanism: 'oauthbearer',
    authenticationProvider: ({ host, port, logger, saslAuthenticate }: AuthenticationProviderArgs) => ({
      authenticate: async () => {
        const { value } = await token();
        // The GS2 header without an authorization identity, then the token (RFC 7628 §3.1).
        const message = Buffer.from(`n,,${SOH}auth=Bearer ${value}${SOH}${SOH}`);
        // Length-prefixed, as kafkajs' SaslAuthenticate request and answer carry auth bytes.
        const framed = Buffer.alloc(4 + message.length);
        framed.writeInt32BE(message.length, 0);
        message.copy(framed, 4);
        let answer: string | undefined;
        try {
          answer = (await saslAuthenticate<string>({
            request: { encode: () => framed },
            response: {
              decode: (raw: Buffer) =>
                raw.length >= 4 && raw.readInt32BE(0) > 0 ? raw.subarray(4, 4 + raw.readInt32BE(0)) : Buffer.alloc(0),
              parse: (data: Buffer) => data.toString('utf8'),
            },
          })) as string | undefined;
        } catch (error) {
          throw refused(`SASL OAUTHBEARER authentication failed: ${(error as Error).message}`);
        }
        if (answer) {
          throw refused(`SASL OAUTHBEARER authentication failed: broker ${host}:${port} refused the token (${statusOf(answer)})`);
        }
        logger.debug('SASL OAUTHBEARER authenticated', { broker: `${host}:${port}` });
      },
    }),
  };
}

/** The `status` of the broker's error answer (invalid_token, invalid_scope…), or what it was. */
function statusOf(answer: string): string {
  try {
    const { status } = JSON.parse(answer) as { status?: unknown };
    if (typeof status === 'string') return status.slice(0, 100);
  } catch {
    // Not JSON.
  }
  return answer.slice(0, 100);
}
