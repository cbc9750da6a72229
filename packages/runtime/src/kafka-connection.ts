import { readFileSync } from 'node:fs';
import type { KafkaConfig, Mechanism, SASLOptions } from 'kafkajs';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { kafkaBrokers } from './config-fields.js';
import { oauthBearer } from './kafka-oauthbearer.js';
import { OAuthTokenSource } from './oauth-token.js';

/**
 * How a service reaches Kafka: the brokers and, for a managed or secured cluster (MSK, Confluent
 * Cloud, Aiven, a cluster with SASL_SSL listeners), TLS and SASL. Every Kafka client of a process
 * is made from this one value, the per-broker probes of topic provisioning too.
 */
export interface KafkaConnection {
  brokers: string[];
  ssl?: KafkaConfig['ssl'];
  sasl?: SASLOptions | Mechanism;
}

const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

export const kafkaConnectionFields = {
  KAFKA_BROKERS: kafkaBrokers,
  /** TLS to the brokers, verified against the system's CAs, or KAFKA_SSL_CA_FILE's. */
  KAFKA_SSL: flag.optional(),
  /** A PEM bundle of the CAs the brokers' certificates are checked against (implies KAFKA_SSL). */
  KAFKA_SSL_CA_FILE: z.string().optional(),
  /** A client certificate and its key (PEM), for clusters that authenticate clients by certificate (implies KAFKA_SSL). */
  KAFKA_SSL_CERT_FILE: z.string().optional(),
  KAFKA_SSL_KEY_FILE: z.string().optional(),
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'], {
      error: 'must be plain, scram-sha-256, scram-sha-512 or oauthbearer',
    })
    .optional(),
  /** The user, or with oauthbearer the OAuth client's id. */
  KAFKA_SASL_USERNAME: z.string().optional(),
  /** The password, or with oauthbearer the OAuth client's secret. */
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** oauthbearer: the OAuth provider's token endpoint, asked by the client-credentials grant (oauth-token.ts). */
  KAFKA_SASL_OAUTHBEARER_TOKEN_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** oauthbearer: the scope to ask for, if the provider wants one. */
  KAFKA_SASL_OAUTHBEARER_SCOPE: z.string().optional(),
};

const fieldsSchema = z.object(kafkaConnectionFields);
type Fields = z.output<typeof fieldsSchema>;

/** The connection from parsed settings; a combination that cannot work is one sentence (ConfigError). */
export function kafkaConnection(c: Fields): KafkaConnection {
  const problem = (text: string) => new ConfigError(`Invalid configuration — ${text}.`);
  const files = { ca: c.KAFKA_SSL_CA_FILE, cert: c.KAFKA_SSL_CERT_FILE, key: c.KAFKA_SSL_KEY_FILE };
  const named = { ca: 'KAFKA_SSL_CA_FILE', cert: 'KAFKA_SSL_CERT_FILE', key: 'KAFKA_SSL_KEY_FILE' } as const;
  const given = (Object.keys(files) as (keyof typeof files)[]).filter((k) => files[k] !== undefined);
  if (c.KAFKA_SSL === false && given.length > 0) throw problem(`${given.map((k) => named[k]).join(', ')} set but KAFKA_SSL is false`);
  if ((files.cert === undefined) !== (files.key === undefined)) throw problem('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together');
  const read = (k: keyof typeof files) => {
    try {
      return readFileSync(files[k] as string, 'utf8');
    } catch (error) {
      throw problem(`${named[k]}: cannot read ${files[k]} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const tls = c.KAFKA_SSL === true || given.length > 0;
  let ssl: KafkaConfig['ssl'];
  if (given.length > 0)
    ssl = {
      ...(files.ca ? { ca: [read('ca')] } : {}),
      ...(files.cert ? { cert: read('cert'), key: read('key') } : {}),
    };
  else if (tls) ssl = true;

  const base = { brokers: c.KAFKA_BROKERS, ...(ssl ? { ssl } : {}) };
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = c;
  if (!mechanism) {
    if (username || password) throw problem('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD need KAFKA_SASL_MECHANISM');
    return base;
  }
  const tokenUrl = c.KAFKA_SASL_OAUTHBEARER_TOKEN_URL;
  if (mechanism !== 'oauthbearer' && (tokenUrl || c.KAFKA_SASL_OAUTHBEARER_SCOPE))
    throw problem('KAFKA_SASL_OAUTHBEARER_TOKEN_URL and KAFKA_SASL_OAUTHBEARER_SCOPE need KAFKA_SASL_MECHANISM oauthbearer');
  if (!username || !password) {
    const what = mechanism === 'oauthbearer' ? ' (the OAuth client id and secret)' : '';
    throw problem(`KAFKA_SASL_MECHANISM ${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD${what}`);
  }
  // PLAIN sends the password as it is, OAUTHBEARER a token anyone holding it may use: only inside TLS. SCRAM never sends it.
  if ((mechanism === 'plain' || mechanism === 'oauthbearer') && !tls)
    throw problem(
      `KAFKA_SASL_MECHANISM ${mechanism} sends ${mechanism === 'plain' ? 'the password' : 'its token'} in the clear; set KAFKA_SSL=true`,
    );
  if (mechanism === 'oauthbearer') {
    if (!tokenUrl) throw problem('KAFKA_SASL_MECHANISM oauthbearer needs KAFKA_SASL_OAUTHBEARER_TOKEN_URL');
    // The client secret goes there: over TLS, but for a provider on this host (a sidecar, a test).
    const { protocol, hostname } = new URL(tokenUrl);
    if (protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(hostname))
      throw problem('KAFKA_SASL_OAUTHBEARER_TOKEN_URL sends the client secret in the clear; use https (http only to this host)');
    const source = new OAuthTokenSource({ tokenUrl, clientId: username, clientSecret: password, scope: c.KAFKA_SASL_OAUTHBEARER_SCOPE });
    return { ...base, sasl: oauthBearer(source.token) };
  }
  return { ...base, sasl: { mechanism, username, password } as SASLOptions };
}
