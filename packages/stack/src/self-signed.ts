import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { StackError } from './stack-error.js';

/**
 * A self-signed certificate for a local TLS listener (the test brokers' secure listeners, the TLS
 * tests' SMTP servers), written as key.pem (PKCS#8, unencrypted) and cert.pem in `dir`, made by
 * openssl. Valid for localhost and 127.0.0.1.
 */
export function selfSignedCertificate(dir: string, days = 1): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'];
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', ...subject, '-days', String(days), '-keyout', keyFile, '-out', certFile],
      {
        stdio: 'pipe',
      },
    );
  } catch (error) {
    throw new StackError(`openssl could not make a self-signed certificate: ${(error as Error).message.split('\n')[0]}.`);
  }
  return { keyFile, certFile };
}
