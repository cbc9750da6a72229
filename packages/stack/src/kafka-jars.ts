import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, stackPackageDir } from './paths.js';
import { checkMaven } from './prerequisites.js';
import { StackError } from './stack-error.js';

const run = promisify(execFile);

export const KAFKA_VERSION = '3.9.1';
/** Pinned: an unpinned plugin lets old Maven versions pick an ancient one. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies';

/**
 * Returns the directory holding the broker's jars, fetching them with Maven on first use.
 * The copy goes to a temp folder and is renamed into place, so an interrupted download
 * never leaves a half-filled cache that later runs would trust.
 */
export async function ensureKafkaJars(): Promise<string> {
  const libs = join(cacheDir(), `kafka-${KAFKA_VERSION}`, 'libs');
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return libs;
  await checkMaven();
  const partial = `${libs}.partial-${process.pid}`;
  mkdirSync(partial, { recursive: true });
  try {
    await run(
      'mvn',
      [
        '-B',
        '-q',
        '-f',
        join(stackPackageDir, 'kafka', 'pom.xml'),
        DEPENDENCY_PLUGIN,
        `-DoutputDirectory=${partial}`,
        '-DincludeScope=runtime',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    const detail = (error as { stdout?: string }).stdout?.split('\n').find((l) => l.includes('ERROR')) ?? '';
    throw new StackError(
      `Maven could not download the Kafka ${KAFKA_VERSION} jars; check that Maven Central is reachable (${detail.trim() || 'no detail'}).`,
    );
  }
  rmSync(libs, { recursive: true, force: true });
  renameSync(partial, libs);
  return libs;
}
