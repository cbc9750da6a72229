import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OAuthIssuer, oauthIssuer, oauthListenerProperties } from './kafka-oauth.js';
import { selfSignedCertificate } from './self-signed.js';

/**
 * Two listeners beside the plain one, for the tests that connect as a managed cluster demands
 * (`npm test` only: the services' TLS and SASL settings need a broker that asks for them):
 * SASL_SSL (PLAIN and SCRAM-SHA-512 for one user, and OAUTHBEARER: kafka-oauth.ts) at client port + 500, and SSL that requires a
 * client certificate at + 600, clear of the other stacks a test run and the bench start (9192,
 * 9292 and their next two). One self-signed certificate for 127.0.0.1 is the brokers', the CA the
 * clients check them against, and the client certificate the brokers trust.
 */
export interface SecureListener {
  caFile: string;
  keyFile: string;
  keystoreFile: string;
  username: string;
  password: string;
  oauth: OAuthIssuer;
}

/** The listeners' ports, from each node's plain client port (9092 → 9592 and 9692). */
export const SECURE_PORT_OFFSET = 500;
export const MTLS_PORT_OFFSET = 600;

/** The certificate and password, made once per data dir (a fresh one for each test run). */
export function secureListener(dir: string): SecureListener {
  const tls = join(dir, 'tls');
  mkdirSync(tls, { recursive: true });
  // selfSignedCertificate's files: its certificate is also the CA the clients check against.
  const caFile = join(tls, 'cert.pem');
  const keyFile = join(tls, 'key.pem');
  const keystoreFile = join(tls, 'keystore.pem');
  const passwordFile = join(tls, 'password');
  if (!existsSync(keystoreFile)) {
    selfSignedCertificate(tls, 30);
    // Kafka's PEM keystore: the (PKCS#8, unencrypted) key, then its certificate.
    writeFileSync(keystoreFile, readFileSync(keyFile, 'utf8') + readFileSync(caFile, 'utf8'));
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'));
  }
  const password = readFileSync(passwordFile, 'utf8');
  return { caFile, keyFile, keystoreFile, username: 'postline', password, oauth: oauthIssuer(dir) };
}

/** The broker properties of the listeners (inter-broker and controller traffic stay plain). */
export function secureListenerProperties(s: SecureListener): Record<string, string> {
  return {
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512,OAUTHBEARER',
    ...oauthListenerProperties(s.oauth),
    'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${s.username}="${s.password}";`,
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': s.keystoreFile,
    'listener.name.mtls.ssl.keystore.type': 'PEM',
    'listener.name.mtls.ssl.keystore.location': s.keystoreFile,
    'listener.name.mtls.ssl.truststore.type': 'PEM',
    'listener.name.mtls.ssl.truststore.location': s.caFile,
    'listener.name.mtls.ssl.client.auth': 'required',
  };
}

/** SCRAM credentials live in the cluster metadata: written when the storage is formatted. */
export function scramFormatArgs(s: SecureListener): string[] {
  return ['--add-scram', `SCRAM-SHA-512=[name=${s.username},password=${s.password}]`];
}
