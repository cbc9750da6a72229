import t from 'tap';
import { AUTH, buildApi } from '../../../test/helpers/api.js';
import { testKafka, topicSize } from '../../../test/helpers/kafka.js';
import { cases, expectProblem, forgedHeaderCases, hostileAddressCases } from './bad-input-cases.js';

// The same table runs against in-memory stand-ins in fast/bad-input.test.ts; here it runs once
// against the real stack, to prove that nothing reaches the real topic.
t.test('every bad request gets the right 4xx as problem+json, and nothing reaches the topic', async (t) => {
  const { app, config } = await buildApi(t);
  t.ok(cases.length >= 46, `${cases.length} cases`);
  for (const c of [...cases, ...hostileAddressCases, ...forgedHeaderCases]) await expectProblem(t, app, c);
  t.equal(await topicSize(testKafka(), config.EMAILS_TOPIC), 0, 'the topic is unchanged: nothing was produced');
});

t.test('every bad field is listed, not just the first', async (t) => {
  const { app } = await buildApi(t);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/emails',
    headers: AUTH,
    payload: { from: 'x', to: 'y', subject: '', html: 1, extra: true },
  });
  t.equal(res.statusCode, 400);
  const paths = res
    .json()
    .errors.map((e: { path: string }) => e.path)
    .sort();
  t.same(paths, ['/extra', '/from', '/html', '/subject', '/to']);
});
