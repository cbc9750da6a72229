// The client of hostile-bench.mjs, in a process of its own so that building and sending the bodies
// costs the API's event loop nothing: `node hostile-client.mjs <API address> <runs>`. Each request
// names its case (x-bench-case) and goes alone, with a pause after it for the API's timer to read.
import { HOSTILE_REQUESTS, KEY } from './hostile-requests.mjs';

const [address, runs] = [process.argv[2], Number(process.argv[3])];
for (const [i, [url, body]] of Object.values(HOSTILE_REQUESTS).entries()) {
  const payload = JSON.stringify(body);
  for (let run = 0; run < runs; run++) {
    const res = await fetch(address + url, {
      method: 'POST',
      body: payload,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-bench-case': String(i) },
    });
    await res.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}
