// test-plan: standalone
import { validate } from '@readme/openapi-parser';
import t from 'tap';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';

t.test('the OpenAPI document is generated from the route schemas and is valid OpenAPI 3.1', async (t) => {
  const { app } = await buildMemoryApi(t);
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  const doc = res.json();
  const result = await validate(structuredClone(doc));
  t.ok(result.valid, `valid: ${JSON.stringify(result.valid ? [] : result.errors).slice(0, 2000)}`);
  t.equal(doc.openapi, '3.1.0');
  for (const [path, method] of [
    ['/v1/emails', 'post'],
    ['/v1/emails', 'get'],
    ['/v1/emails/batch', 'post'],
    ['/v1/emails/{id}', 'get'],
    ['/v1/emails/{id}/events', 'get'],
    ['/v1/webhooks', 'post'],
    ['/v1/webhooks', 'get'],
    ['/v1/webhooks/{id}', 'get'],
    ['/v1/webhooks/{id}', 'delete'],
    ['/v1/webhooks/{id}/rotate-secret', 'post'],
    ['/v1/webhooks/{id}/deliveries', 'get'],
    ['/v1/suppressions', 'post'],
    ['/v1/suppressions', 'get'],
    ['/v1/suppressions/{address}', 'delete'],
  ] as const) {
    t.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} documented`);
  }
  const request = doc.components.schemas.EmailRequest;
  t.equal(request.additionalProperties, false, 'unknown keys rejected, also in the spec');
  t.ok(request.properties.attachments, 'the request schema is the zod one');
  t.ok(doc.paths['/v1/emails'].post.responses['400'].content['application/problem+json'], 'errors are problem+json');
  t.same(
    doc.paths['/v1/emails'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort(),
    ['query:after', 'query:before', 'query:limit', 'query:stuck'],
    "the list's page parameters are documented",
  );
  t.equal(doc.paths['/v1/emails'].get.responses['200'].content['application/json'].schema.anyOf?.length, 2, 'a page, or the stuck audit');
  t.ok(
    doc.paths['/v1/emails'].post.parameters.some((p: { name: string; in: string }) => p.name === 'idempotency-key' && p.in === 'header'),
    'Idempotency-Key documented',
  );
  t.notOk(doc.paths['/openapi.json'], 'the document does not list itself');
  const ui = await app.inject({ method: 'GET', url: '/docs/' });
  t.equal(ui.statusCode, 200);
  t.match(ui.headers['content-type'], /text\/html/);
  // Served by @fastify/static, whose dependencies declare Node 22: this runs on the Node the suite runs on.
  const asset = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' });
  t.equal(asset.statusCode, 200, "the UI's assets are served");
  t.match(asset.headers['content-type'], /text\/css/);
});
