// Kafka's own ProducerPerformance (kafka-tools 3.9.1), fetched by Maven like the broker jars.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const libs = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'postline', 'kafka-tools-3.9.1', 'libs');

export async function ensureKafkaTools(benchDir) {
  if (existsSync(libs)) return;
  await run('mvn', [
    '-B',
    '-q',
    '-f',
    join(benchDir, 'kafka-tools/pom.xml'),
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    `-DoutputDirectory=${libs}`,
    '-DincludeScope=runtime',
  ]);
}

/** acks=all, idempotent; returns records/s and latency percentiles (ms). */
export async function producerPerformance({ brokers, topic, records, size, throughput = -1 }) {
  const { stdout } = await run(
    'java',
    [
      '-Xmx512m',
      '-cp',
      join(libs, '*'),
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(size),
      '--throughput',
      String(throughput),
      '--producer-props',
      `bootstrap.servers=${brokers}`,
      'acks=all',
      'enable.idempotence=true',
      'linger.ms=5',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const last = stdout.trim().split('\n').pop();
  const n = (re) => Number(re.exec(last)?.[1]);
  return { rps: n(/([\d.]+) records\/sec/), p50: n(/(\d+) ms 50th/), p99: n(/(\d+) ms 99th/), p999: n(/(\d+) ms 99\.9th/) };
}
