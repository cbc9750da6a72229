// test-plan: standalone
import t from 'tap';
import * as errors from '../../src/errors.js';
import { toResendError } from '../../src/resend/problem.js';

// Codes the /resend routes cannot give: templates and webhooks have no Resend-compatible route, and
// an unreadable message is SMTP's (submission and the bounce listener), never an HTTP answer.
const NOT_ON_RESEND = new Set([
  'EMAIL_ERR_MESSAGE_UNREADABLE',
  'EMAIL_ERR_TEMPLATE_NAME_TAKEN',
  'EMAIL_ERR_TEMPLATE_NO_DRAFT',
  'EMAIL_ERR_WEBHOOK_URL_NOT_ALLOWED',
  'EMAIL_ERR_LIMIT_REACHED',
]);

t.test('every coded error the /resend routes can give has a Resend answer (else it became a 500 and an error line)', async (t) => {
  type Coded = Error & { code: string; statusCode: number };
  const coded = Object.values(errors)
    .filter((value) => typeof value === 'function')
    .map((E) => new (E as unknown as new (arg: string) => Coded)('x'))
    .filter((error) => error.code?.startsWith('EMAIL_ERR_') && !NOT_ON_RESEND.has(error.code));
  t.ok(coded.length >= 12, `${coded.length} codes checked`);
  for (const error of coded) {
    const answer = toResendError(error, true);
    t.ok(answer, `${error.code} is answered as Resend would`);
    if (error.code !== 'EMAIL_ERR_UNAUTHORIZED' && answer)
      t.equal(answer.statusCode >= 500, error.statusCode >= 500, `${error.code}: a retryable status stays one (${answer.statusCode})`);
  }
  t.match(toResendError(new errors.BusyError(), true), { statusCode: 503, name: 'application_error' });
  t.match(toResendError(new errors.BodyTimeoutError(10), true), { statusCode: 408 });
});
