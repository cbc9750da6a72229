import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { HOSTILE_ADDRESSES } from '../../../packages/contracts/test/hostile-addresses.js';
import { AUTH, email } from '../../../test/helpers/api.js';

/**
 * The bad-input table: every request here must get its 4xx as problem+json and produce nothing.
 * It runs in milliseconds against the app with in-memory stand-ins (fast/bad-input.test.ts), and
 * once against the real stack (bad-input.test.ts), which checks that the topic stays empty.
 */
export interface Case {
  name: string;
  status: number;
  code: string;
  /** A JSON pointer the problem's `errors` must name. */
  path?: string;
  method?: 'POST' | 'GET' | 'DELETE';
  url?: string;
  headers?: Record<string, string>;
  payload?: unknown;
  raw?: string;
}

export const many = (n: number) => Array.from({ length: n }, (_, i) => `r${i}@example.net`);
const b64 = Buffer.from('%PDF-1.4 hello').toString('base64');

export const cases: Case[] = [
  {
    name: 'CRLF in subject (header injection)',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/subject',
    payload: email({ subject: 'Hi\r\nBcc: victim@example.net' }),
  },
  { name: 'LF alone in subject', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/subject', payload: email({ subject: 'Hi\nthere' }) },
  {
    name: 'CRLF in a custom header value',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/headers/X-Note',
    payload: email({ headers: { 'X-Note': 'a\r\nBcc: x@example.net' } }),
  },
  {
    name: 'CRLF in from',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/from',
    payload: email({ from: 'sender@example.com\r\nBcc: x@example.net' }),
  },
  {
    name: 'CRLF in a to address',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/to/0',
    payload: email({ to: ['a@example.net\r\nRCPT TO:<x@example.net>'] }),
  },
  {
    name: 'CRLF in a display name',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/to',
    payload: email({ to: 'Evil\r\nName <a@example.net>' }),
  },
  { name: 'unknown top-level key', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/priority', payload: email({ priority: 'high' }) },
  {
    name: '51 recipients in total',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/to',
    payload: email({ to: many(40), cc: many(6), bcc: many(5) }),
  },
  { name: 'sender domain not allowed', status: 403, code: 'EMAIL_ERR_SENDER_NOT_ALLOWED', payload: email({ from: 'ceo@bank.example' }) },
  {
    name: 'sender subdomain trick',
    status: 403,
    code: 'EMAIL_ERR_SENDER_NOT_ALLOWED',
    payload: email({ from: 'x@example.com.evil.example' }),
  },
  {
    name: 'attachment with a path',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/attachments/0/path',
    payload: email({ attachments: [{ filename: 'a.txt', content: b64, path: '/etc/passwd' }] }),
  },
  {
    name: 'attachment with a URL',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/attachments/0/href',
    payload: email({ attachments: [{ filename: 'a.txt', content: b64, href: 'http://169.254.169.254/' }] }),
  },
  {
    name: 'attachment content not base64',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/attachments/0/content',
    payload: email({ attachments: [{ filename: 'a.txt', content: 'not base64!' }] }),
  },
  {
    name: 'attachment filename with a slash',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/attachments/0/filename',
    payload: email({ attachments: [{ filename: '../../etc/passwd', content: b64 }] }),
  },
  {
    name: 'attachment with a bad content type',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/attachments/0/contentType',
    payload: email({ attachments: [{ filename: 'a.pdf', content: b64, contentType: 'text/html\r\nX: y' }] }),
  },
  {
    name: 'attachment typed multipart',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/attachments/0/contentType',
    payload: email({ attachments: [{ filename: 'a.txt', content: b64, contentType: 'Multipart/Mixed; boundary="zz"' }] }),
  },
  {
    name: '11 attachments',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/attachments',
    payload: email({ attachments: Array.from({ length: 11 }, (_, i) => ({ filename: `f${i}.pdf`, content: b64 })) }),
  },
  { name: 'malformed JSON', status: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY', raw: '{"from": "sender@example.com", "to": ' },
  { name: 'empty JSON body', status: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY', raw: '' },
  {
    name: 'oversized body (> 4 MiB)',
    status: 413,
    code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    payload: email({ text: 'x'.repeat(4 * 1024 * 1024 + 1) }),
  },
  {
    name: 'wrong content type',
    status: 415,
    code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    headers: { 'content-type': 'text/plain' },
    raw: 'hello',
  },
  {
    name: 'form-encoded body',
    status: 415,
    code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    raw: 'from=a',
  },
  {
    name: 'wrong API key',
    status: 401,
    code: 'EMAIL_ERR_UNAUTHORIZED',
    headers: { authorization: 'Bearer nope-nope-nope' },
    payload: email(),
  },
  { name: 'no API key', status: 401, code: 'EMAIL_ERR_UNAUTHORIZED', headers: { authorization: '' }, payload: email() },
  {
    name: 'Basic instead of Bearer',
    status: 401,
    code: 'EMAIL_ERR_UNAUTHORIZED',
    headers: { authorization: `Basic ${Buffer.from('test:x').toString('base64')}` },
    payload: email(),
  },
  {
    name: 'missing from',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/from',
    payload: { to: 'a@example.net', subject: 's', text: 't' },
  },
  {
    name: 'missing to',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/to',
    payload: { from: 'sender@example.com', subject: 's', text: 't' },
  },
  { name: 'empty to list', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/to', payload: email({ to: [] }) },
  { name: 'neither text nor html', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/text', payload: email({ text: undefined }) },
  {
    name: 'subject of 999 characters',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/subject',
    payload: email({ subject: 's'.repeat(999) }),
  },
  {
    // Within the length, but no space to fold at: it went out as a 999-character line.
    name: 'subject of 998 characters without a space',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/subject',
    payload: email({ subject: 's'.repeat(998) }),
  },
  {
    name: 'header value of 998 characters without a space',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/headers/X-Ref',
    payload: email({ headers: { 'X-Ref': 'v'.repeat(998) } }),
  },
  {
    name: 'reserved header From',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/headers/From',
    payload: email({ headers: { From: 'ceo@example.com' } }),
  },
  {
    name: 'reserved header Message-ID',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/headers/Message-ID',
    payload: email({ headers: { 'Message-ID': '<x@y>' } }),
  },
  {
    name: 'Content-* header',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/headers/Content-Type',
    payload: email({ headers: { 'Content-Type': 'text/html' } }),
  },
  {
    name: 'header name with a colon',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/headers/X-A:B',
    payload: email({ headers: { 'X-A:B': 'v' } }),
  },
  { name: 'bad tag name', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/tags/bad tag', payload: email({ tags: { 'bad tag': 'v' } }) },
  { name: 'non-string tag value', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/tags/n', payload: email({ tags: { n: 1 } }) },
  { name: 'to is a number', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/to', payload: email({ to: 42 }) },
  { name: 'body is an array', status: 400, code: 'EMAIL_ERR_VALIDATION', path: '/', payload: [email()] },
  {
    name: 'bcc with an invalid address',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/bcc',
    payload: email({ bcc: 'not-an-address' }),
  },
  {
    name: 'display name smuggling a second address',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/to',
    payload: email({ to: 'a <b@example.net>> <c@example.net>' }),
  },
  {
    name: 'Idempotency-Key too long',
    status: 400,
    code: 'EMAIL_ERR_IDEMPOTENCY_KEY',
    headers: { 'idempotency-key': 'k'.repeat(256) },
    payload: email(),
  },
  {
    name: 'Idempotency-Key with a control character',
    status: 400,
    code: 'EMAIL_ERR_IDEMPOTENCY_KEY',
    headers: { 'idempotency-key': 'a\tb' },
    payload: email(),
  },
  {
    name: 'batch of 101',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/emails',
    url: '/v1/emails/batch',
    payload: { emails: Array.from({ length: 101 }, () => email()) },
  },
  {
    name: 'batch with a bad item',
    status: 400,
    code: 'EMAIL_ERR_VALIDATION',
    path: '/emails/2/from',
    url: '/v1/emails/batch',
    payload: { emails: [email(), email(), email({ from: 'nope' })] },
  },
  {
    name: 'batch with a disallowed sender',
    status: 403,
    code: 'EMAIL_ERR_SENDER_NOT_ALLOWED',
    url: '/v1/emails/batch',
    payload: { emails: [email(), email({ from: 'x@elsewhere.example' })] },
  },
  { name: 'unknown route', status: 404, code: 'EMAIL_ERR_NOT_FOUND', url: '/v1/mails', payload: email() },
  { name: 'unknown method on a route', status: 404, code: 'EMAIL_ERR_NOT_FOUND', method: 'DELETE', url: '/v1/emails' },
];

const hostile = (field: 'from' | 'to' | 'cc' | 'bcc' | 'replyTo', value: string, path: string): Case => ({
  name: `hostile ${field}: ${JSON.stringify(value).slice(0, 60)}`,
  status: 400,
  code: 'EMAIL_ERR_VALIDATION',
  path,
  payload: email({ [field]: field === 'from' ? value : [value] }),
});

/** Every hostile address form, in every address field: refused, never split, never re-read. */
export const hostileAddressCases: Case[] = HOSTILE_ADDRESSES.flatMap((value) => [
  hostile('from', value, '/from'),
  hostile('to', value, '/to/0'),
  hostile('cc', value, '/cc/0'),
  hostile('bcc', value, '/bcc/0'),
  hostile('replyTo', value, '/replyTo/0'),
]);

/** Headers a client could forge a trace or an authentication verdict with. */
export const forgedHeaderCases: Case[] = [
  'Authentication-Results',
  'ARC-Seal',
  'ARC-Message-Signature',
  'ARC-Authentication-Results',
  'Received-SPF',
  'Delivered-To',
  'Resent-From',
  'Resent-To',
  'DKIM-Signature',
  'dkim-signature',
  'Return-Path',
  'Received',
  'Sender',
  'X-Received',
  'X-Originating-IP',
  'X-Google-DKIM-Signature',
  'X-MS-Exchange-Organization-AuthAs',
].map((name) => ({
  name: `forged header ${name}`,
  status: 400,
  code: 'EMAIL_ERR_VALIDATION',
  path: `/headers/${name}`,
  payload: email({ headers: { [name]: 'pass' } }),
}));

/** Sends one case and checks its answer; returns the problem body. */
export async function expectProblem(t: Test, app: FastifyInstance, c: Case): Promise<void> {
  const hasBody = c.raw !== undefined || c.payload !== undefined;
  const headers: Record<string, string> = { ...AUTH, ...(hasBody ? { 'content-type': 'application/json' } : {}), ...c.headers };
  if (headers.authorization === '') delete headers.authorization;
  const res = await app.inject({
    method: c.method ?? 'POST',
    url: c.url ?? '/v1/emails',
    headers,
    ...(c.raw !== undefined ? { payload: c.raw } : c.payload !== undefined ? { payload: JSON.stringify(c.payload) } : {}),
  });
  t.equal(res.statusCode, c.status, `${c.name}: status`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${c.name}: problem+json`);
  const problem = res.json();
  t.equal(problem.code, c.code, `${c.name}: code`);
  t.equal(problem.status, c.status, `${c.name}: status in body`);
  t.type(problem.title, 'string');
  t.type(problem.type, 'string');
  if (c.path)
    t.ok(
      problem.errors?.some((e: { path: string }) => e.path === c.path),
      `${c.name}: names ${c.path} (got ${JSON.stringify(problem.errors)})`,
    );
}
