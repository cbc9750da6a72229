// The client of hostile-bench.mjs, in a process of its own so that building and sending the bodies
// costs the API's event loop nothing: `node hostile-client.mjs <API address> <runs>`, or a hostile SMTP
// submission (below). Each request
// names its case (x-bench-case) and goes alone, with a pause after it for the API's timer to read.
import nodemailer from 'nodemailer';
import { hostileRequests, hostileSubmissions, KEY, payloadOf } from './hostile-requests.mjs';

const [address, runs, smtpCase] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
if (smtpCase !== undefined) {
  // `node hostile-client.mjs <submission port> <runs> <case>`: one hostile message, submitted `runs` times.
  const raw = Object.values(hostileSubmissions())[Number(smtpCase)];
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: Number(address),
    ignoreTLS: true,
    auth: { user: 'apikey', pass: KEY },
  });
  let reply = '';
  for (let run = 0; run < runs; run++) {
    reply = await transport.sendMail({ envelope: { from: 'orders@example.com', to: ['c@example.net'] }, raw }).then(
      (info) => info.response,
      (error) => error.response ?? error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  transport.close();
  // The last reply's code, for the report.
  process.stdout.write(reply.slice(0, 3));
  process.exit(0);
}
for (const [i, [url, body, headers]] of Object.values(hostileRequests()).entries()) {
  const payload = payloadOf(body);
  for (let run = 0; run < runs; run++) {
    const res = await fetch(address + url, {
      method: 'POST',
      body: payload,
      headers: { ...headers, authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-bench-case': String(i) },
    });
    await res.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}
