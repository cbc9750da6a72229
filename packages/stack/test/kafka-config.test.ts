// test-plan: standalone
import t from 'tap';
import { DURABILITY, renderServerProperties } from '../src/kafka-config.js';

const layouts = [1, 2, 3].map((id) => ({ id, clientPort: 9091 + id, controllerPort: 19091 + id, logDir: `/d/node${id}` }));

t.test('every node carries the durability settings and the full quorum', async (t) => {
  const props = renderServerProperties(layouts[1]!, layouts);
  t.match(props, /^node\.id=2$/m);
  t.match(props, /^controller\.quorum\.voters=1@127\.0\.0\.1:19092,2@127\.0\.0\.1:19093,3@127\.0\.0\.1:19094$/m);
  t.match(props, /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:9093,CONTROLLER:\/\/127\.0\.0\.1:19093$/m);
  for (const [key, value] of Object.entries(DURABILITY)) t.match(props, new RegExp(`^${key.replaceAll('.', '\\.')}=${value}$`, 'm'), key);
});

t.test('durability is RF 3, min ISR 2, no unclean election, no auto-created topics', async (t) => {
  t.equal(DURABILITY['default.replication.factor'], 3);
  t.equal(DURABILITY['min.insync.replicas'], 2);
  t.equal(DURABILITY['unclean.leader.election.enable'], false);
  t.equal(DURABILITY['auto.create.topics.enable'], false);
});

t.test('the local stack never moves leaders on a timer (a coordinator move would rejoin groups mid-test)', async (t) => {
  t.match(renderServerProperties(layouts[0]!, layouts), /^auto\.leader\.rebalance\.enable=false$/m);
});
