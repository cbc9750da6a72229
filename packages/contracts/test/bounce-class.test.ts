// test-plan: standalone
import t from 'tap';
import { isHardBounce } from '../src/bounce-class.js';

t.test('hard bounces are the "no such address" class only', async (t) => {
  const hard = [
    '550 5.1.1 <a@x.test>: Recipient address rejected: User unknown',
    '550-5.1.1 The email account that you tried to reach does not exist.',
    '553 5.1.3 Bad recipient address syntax',
    '550 5.1.2 Host unknown',
    '551 5.1.6 Mailbox has moved',
    '556 5.1.10 Recipient address has null MX',
    '550 User unknown',
    '550 No such user here',
  ];
  const notHard = [
    '550 5.7.1 Message rejected as spam',
    '552 5.2.2 Mailbox full',
    '550 5.2.1 Mailbox disabled',
    '553 5.1.8 Bad sender address',
    '550 5.1.7 Bad sender mailbox syntax',
    '554 5.6.0 Content rejected',
    '450 4.1.1 User unknown (try later)',
    '421 4.7.0 Try again later',
    '550 Rejected by policy',
    '550 5.7.1 User unknown in our spam list',
    null,
  ];
  for (const r of hard) t.ok(isHardBounce(r), `hard: ${r}`);
  for (const r of notHard) t.notOk(isHardBounce(r), `not hard: ${r}`);
});
