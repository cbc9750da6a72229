import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * SASL OAUTHBEARER on the test brokers' SASL_SSL listener (`npm test` only), as a cluster behind
 * an OAuth provider has it (Strimzi with Keycloak, Confluent Cloud, Redpanda): the brokers check a
 * token's RS256 signature against a JWKS (a file here, an HTTPS URL in production), its expiry
 * and its audience, and end a session when its token expires. A test plays the provider: it signs tokens with `keyFile` for the services'
 * client-credentials requests (test/helpers/oauth-provider.ts).
 */
export interface OAuthIssuer {
  /** The RSA private key (PKCS#8 PEM) whose public half the brokers trust. */
  keyFile: string;
  kid: string;
  /** What a token's `aud` must hold. */
  audience: string;
  jwksFile: string;
}

/** The key pair and JWKS, made once per data dir (a fresh one for each test run). */
export function oauthIssuer(dir: string): OAuthIssuer {
  const oauth = join(dir, 'oauth');
  mkdirSync(oauth, { recursive: true });
  const keyFile = join(oauth, 'key.pem');
  const jwksFile = join(oauth, 'jwks.json');
  if (!existsSync(jwksFile)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = randomBytes(8).toString('hex');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] }));
  }
  const jwks = JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: { kid: string }[] };
  return { keyFile, kid: jwks.keys[0]?.kid ?? '', audience: 'postline-test-cluster', jwksFile };
}

/** The broker properties that add OAUTHBEARER to the SASL_SSL listener (kafka-secure-listener.ts). */
export function oauthListenerProperties(o: OAuthIssuer): Record<string, string> {
  return {
    'listener.name.sasl_ssl.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
    'listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class':
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler',
    'sasl.oauthbearer.jwks.endpoint.url': `file://${o.jwksFile}`,
    'sasl.oauthbearer.expected.audience': o.audience,
    // A session lasts until its token expires, as with a provider that bounds them (Confluent
    // Cloud): a client must re-authenticate on its open connections with a new token, or is cut off.
    'listener.name.sasl_ssl.oauthbearer.connections.max.reauth.ms': '3600000',
  };
}
