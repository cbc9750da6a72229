import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { StackError } from './stack-error.js';

const run = promisify(execFile);

/** Java 17+ runs the brokers; says what to install when it is missing or too old. */
export async function checkJava(): Promise<void> {
  let output: string;
  try {
    const { stdout, stderr } = await run('java', ['-version']);
    output = stderr + stdout;
  } catch {
    throw new StackError(
      'Java was not found on PATH; install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`) or set KAFKA_BROKERS to use an existing Kafka cluster.',
    );
  }
  const major = Number(/version "(\d+)/.exec(output)?.[1] ?? '0');
  if (major < 17) {
    throw new StackError(
      `Java ${major || 'of unknown version'} was found but Kafka 3.9 needs Java 17+; install a newer JDK or set KAFKA_BROKERS.`,
    );
  }
}

/** Maven fetches the Kafka jars once; only needed when they are not cached yet. */
export async function checkMaven(): Promise<void> {
  try {
    await run('mvn', ['-v']);
  } catch {
    throw new StackError(
      'Maven (mvn) was not found on PATH; it downloads the Kafka jars once — install it (e.g. `apt-get install maven`) or set KAFKA_BROKERS to use an existing Kafka cluster.',
    );
  }
}
