// test-plan: standalone
import t from 'tap';
import { AUTH } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';

// The registration check runs before anything is stored: these need no ledger.
t.test('webhook URLs at private, loopback, link-local or metadata addresses are refused (WEBHOOK_ALLOW_PRIVATE=false)', async (t) => {
  const { app } = await buildMemoryApi(t, { WEBHOOK_ALLOW_PRIVATE: 'false' });
  const urls = [
    'http://127.0.0.1:3000/hook',
    'http://localhost/hook',
    'http://[::1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/',
    'http://192.168.0.10/hook',
    'http://[::ffff:10.0.0.1]/hook',
    'http://0.0.0.0/hook',
  ];
  for (const url of urls) {
    const res = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: AUTH, payload: { url, events: ['*'] } });
    t.equal(res.statusCode, 400, `${url}: 400`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.equal(res.json().code, 'EMAIL_ERR_WEBHOOK_URL_NOT_ALLOWED', `${url}: ${res.json().detail}`);
  }
});

t.test('a webhook registration is validated like any request', async (t) => {
  const { app } = await buildMemoryApi(t);
  const cases: [string, Record<string, unknown>][] = [
    ['not a URL', { url: 'nope', events: ['*'] }],
    ['ftp', { url: 'ftp://example.com/x', events: ['*'] }],
    ['unknown event type', { url: 'https://example.com/x', events: ['email.opened'] }],
    ['no events', { url: 'https://example.com/x', events: [] }],
    ['unknown field', { url: 'https://example.com/x', events: ['*'], secret: 'mine' }],
  ];
  for (const [name, payload] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: AUTH, payload });
    t.equal(res.statusCode, 400, name);
    t.equal(res.json().code, 'EMAIL_ERR_VALIDATION', name);
  }
  const anonymous = await app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url: 'https://example.com/x', events: ['*'] } });
  t.equal(anonymous.statusCode, 401, 'an API key is required');
  const bad = await app.inject({ method: 'POST', url: '/v1/suppressions', headers: AUTH, payload: { address: 'a@b@c' } });
  t.equal(bad.statusCode, 400, 'a suppression needs one address');
});
