import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './stack-error.js';

/**
 * A SASL_SSL listener beside the plain one, for the tests that connect as a managed cluster
 * demands (`npm test` only: the services' TLS and SASL settings need a broker that asks for them).
 * PLAIN and SCRAM-SHA-512 for one user; a self-signed certificate for 127.0.0.1.
 */
export interface SecureListener {
  /** Client ports' offset from the plain ones (9092 → 9292). */
  offset: number;
  caFile: string;
  keystoreFile: string;
  username: string;
  password: string;
}

export const SECURE_PORT_OFFSET = 200;

/** The certificate and password, made once per data dir (a fresh one for each test run). */
export function secureListener(dir: string): SecureListener {
  const tls = join(dir, 'tls');
  mkdirSync(tls, { recursive: true });
  const caFile = join(tls, 'cert.pem');
  const keyFile = join(tls, 'key.pem');
  const keystoreFile = join(tls, 'keystore.pem');
  const passwordFile = join(tls, 'password');
  if (!existsSync(keystoreFile)) {
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
          '-days',
          '30',
          '-keyout',
          keyFile,
          '-out',
          caFile,
        ],
        { stdio: 'pipe' },
      );
    } catch (error) {
      throw new StackError(`openssl could not make the test brokers' certificate: ${(error as Error).message.split('\n')[0]}.`);
    }
    // Kafka's PEM keystore: the (PKCS#8, unencrypted) key, then its certificate.
    writeFileSync(keystoreFile, readFileSync(keyFile, 'utf8') + readFileSync(caFile, 'utf8'));
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'));
  }
  return { offset: SECURE_PORT_OFFSET, caFile, keystoreFile, username: 'postline', password: readFileSync(passwordFile, 'utf8') };
}

/** The broker properties of the listener (inter-broker and controller traffic stay plain). */
export function secureListenerProperties(s: SecureListener): Record<string, string> {
  return {
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${s.username}="${s.password}";`,
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': s.keystoreFile,
  };
}

/** SCRAM credentials live in the cluster metadata: written when the storage is formatted. */
export function scramFormatArgs(s: SecureListener): string[] {
  return ['--add-scram', `SCRAM-SHA-512=[name=${s.username},password=${s.password}]`];
}
