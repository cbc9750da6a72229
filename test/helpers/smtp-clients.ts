import { spawn } from 'node:child_process';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Test } from 'tap';

export interface Step {
  cmd: 'ehlo' | 'auth' | 'mail' | 'rcpt' | 'data';
  code: number;
  message: string;
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export interface SmtplibRequest {
  host: string;
  port: number;
  user?: string;
  password: string | null;
  mailFrom: string;
  rcptTo: string[];
  from: string;
  to: string[];
  cc?: string[];
  subject?: string;
  text?: string;
  /** The text part's charset (Python's email encodes the text in it); utf-8 when not given. */
  textCharset?: string;
  html?: string;
  /** The HTML part's transfer encoding ("quoted-printable", "base64"); Python's choice when not given. */
  htmlCte?: string;
  messageId?: string;
  headers?: Record<string, string>;
  attachmentBytes?: number;
}

/** One submission with Python's smtplib (test/helpers/smtp_client.py): every reply, in order. */
export async function smtplib(request: SmtplibRequest): Promise<{ features: string[]; steps: Step[] }> {
  const { code, stdout, stderr } = await run('python3', [join(import.meta.dirname, 'smtp_client.py')], JSON.stringify(request));
  if (code !== 0) throw new Error(`smtplib client failed (${code}): ${stderr.slice(-2000)}`);
  return JSON.parse(stdout);
}

/** One submission with swaks (Debian's SMTP test tool): its exit code and the session transcript. */
export async function swaks(args: string[]): Promise<{ code: number | null; transcript: string }> {
  const { code, stdout, stderr } = await run('swaks', ['--hide-informational', '--timeout', '60', ...args]);
  return { code, transcript: stdout + stderr };
}

/** nodemailer to an API's SMTP submission port, in the clear (no STARTTLS), with an API key as the password; closed at teardown. */
export function submissionTransport(t: Test, port: number, key: string): Transporter {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    auth: { user: 'apikey', pass: key },
  });
  t.teardown(() => transport.close());
  return transport;
}
