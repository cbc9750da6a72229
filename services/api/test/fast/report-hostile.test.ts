// test-plan: standalone
import t from 'tap';
import { readOnApiHeap } from './on-api-heap.js';

const report = (body: string) =>
  `From: mailer-daemon@mx.example.net\r\nTo: bounce@bounces.example.com\r\nSubject: failure\r\nMIME-Version: 1.0\r\n${body}`;

t.test("on the API's heap, a report of 10 MB of empty lines is malformed, and the process lives", async (t) => {
  // Anyone on the internet can send the bounce listener a report of up to BOUNCE_MAX_BYTES (10 MiB).
  // mailparser made this one's text a string and read its 5 million CRLFs as LF with one regular
  // expression, past the API's 128 MB heap: the process died of it (exit 134). Its lines are counted first.
  const { exit, results } = await readOnApiHeap('report', [report(`\r\n${'\r\n'.repeat(5_000_000)}`)]);
  t.equal(exit, 0, 'the process lived');
  t.same(results, [{ error: 'EMAIL_ERR_MESSAGE_UNREADABLE' }], 'refused: the listener keeps it as malformed');
});

t.test("on the API's heap, a report whose status part is 9.5 MB of blank lines is malformed, and the process lives", async (t) => {
  // The part is not text (mailparser keeps it as it came), so no line count applies; read into
  // fields, its 4.75 million CRLFs took the listener past its heap (exit 134). Past 128 KiB it is not read.
  const status = report(
    `Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n${'\r\n'.repeat(4_750_000)}--b--\r\n`,
  );
  const { exit, results } = await readOnApiHeap('report', [status]);
  t.equal(exit, 0, 'the process lived');
  t.same(results, [{ kind: 'malformed' }]);
});

t.test('a delivery-status report still reads as one, its status part kept as it came', async (t) => {
  const dsn = report(
    'Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nYour message could not be deliv=\r\nered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; someone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n',
  );
  const { exit, results } = await readOnApiHeap('report', [dsn]);
  t.equal(exit, 0);
  t.same(results, [{ kind: 'dsn' }]);
});
