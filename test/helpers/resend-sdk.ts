import type { FastifyInstance } from 'fastify';
import { Resend } from 'resend';
import type { Test } from 'tap';

/**
 * The official `resend` SDK pointed at `app`'s /resend surface as an app would point it
 * (RESEND_BASE_URL, which the SDK reads when it is made), the variable restored after the test.
 */
export async function resendSdk(t: Test, app: FastifyInstance, key: string): Promise<Resend> {
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const before = process.env.RESEND_BASE_URL;
  process.env.RESEND_BASE_URL = `${url}/resend`;
  t.teardown(() => {
    if (before === undefined) delete process.env.RESEND_BASE_URL;
    else process.env.RESEND_BASE_URL = before;
  });
  return new Resend(key);
}
