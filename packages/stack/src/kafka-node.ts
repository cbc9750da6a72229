import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { reapStale, spawnGuarded, terminate } from './guarded-process.js';
import type { NodeLayout } from './kafka-config.js';
import { markerScanner } from './marker-scanner.js';
import { StackError } from './stack-error.js';

const run = promisify(execFile);
const READY_LINE = 'Kafka Server started';
const JAVA_CLASS = 'kafka.Kafka';

export interface KafkaNodeOptions {
  layout: NodeLayout;
  dir: string;
  libs: string;
  log4jFile: string;
  heap: string;
  /** Appended to the JVM's own flags (the test runner's JIT setting). */
  jvmFlags?: readonly string[];
}

export type NodeState = 'stopped' | 'starting' | 'running';

/** One KRaft node (broker + controller) as a guarded JVM. */
export class KafkaNode {
  readonly id: number;
  private child: ChildProcess | null = null;
  private logStream: WriteStream | null = null;
  private readonly propertiesFile: string;
  private readonly pidFile: string;
  readonly logFile: string;
  state: NodeState = 'stopped';

  constructor(private readonly options: KafkaNodeOptions) {
    this.id = options.layout.id;
    this.propertiesFile = join(options.dir, `node${this.id}.properties`);
    this.pidFile = join(options.dir, `node${this.id}.pid`);
    this.logFile = join(options.dir, `node${this.id}.log`);
  }

  get clientAddress(): string {
    return `127.0.0.1:${this.options.layout.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private jvmArgs(mainClass: string, args: string[]): string[] {
    const { heap, libs, log4jFile, dir, jvmFlags = [] } = this.options;
    return [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-server',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      ...jvmFlags,
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${dir}`,
      `-Dlog4j.configuration=file:${log4jFile}`,
      '-cp',
      join(libs, '*'),
      mainClass,
      ...args,
    ];
  }

  /** Writes the properties and formats the log dir (a no-op when already formatted). */
  async prepare(properties: string, clusterId: string, formatArgs: string[] = []): Promise<void> {
    mkdirSync(this.options.layout.logDir, { recursive: true });
    writeFileSync(this.propertiesFile, properties);
    reapStale(this.pidFile, JAVA_CLASS);
    try {
      await run(
        'java',
        this.jvmArgs('kafka.tools.StorageTool', [
          'format',
          '-t',
          clusterId,
          '-c',
          this.propertiesFile,
          '--ignore-formatted',
          ...formatArgs,
        ]),
      );
    } catch (error) {
      const out = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
      throw new StackError(
        `Kafka node ${this.id} could not format its storage in ${this.options.layout.logDir}: ${out.trim().split('\n').pop() ?? 'unknown error'}.`,
      );
    }
  }

  /** Starts the JVM and resolves once the node is unfenced and serving ("Kafka Server started"). */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.child) return;
    this.state = 'starting';
    this.logStream = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawnGuarded('java', this.jvmArgs(JAVA_CLASS, [this.propertiesFile]), {
      pidFile: this.pidFile,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.pipe(this.logStream, { end: false });
    child.stderr?.pipe(this.logStream, { end: false });
    child.once('exit', () => {
      this.child = null;
      this.state = 'stopped';
      this.logStream?.end();
      this.logStream = null;
    });
    await new Promise<void>((resolve, reject) => {
      const seen = markerScanner(READY_LINE);
      const timer = setTimeout(() => fail(`did not become ready within ${timeoutMs / 1000} s`), timeoutMs);
      const onData = (chunk: Buffer) => {
        if (seen(chunk)) done();
      };
      const onExit = (code: number | null, signal: string | null) => fail(`exited during start-up (code ${code}, signal ${signal})`);
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
      };
      const done = () => {
        cleanup();
        this.state = 'running';
        resolve();
      };
      const fail = (why: string) => {
        cleanup();
        reject(new StackError(`Kafka node ${this.id} ${why}; see ${this.logFile} (last line: ${lastLine(this.logFile)}).`));
      };
      child.stdout?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** SIGKILL: a crash, with no controlled shutdown. */
  async kill(): Promise<void> {
    if (this.child) await terminate(this.child, 'SIGKILL', 0);
  }

  /** SIGTERM: controlled shutdown (moves leadership away first). */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.child) await terminate(this.child, 'SIGTERM', graceMs);
  }
}

function lastLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    return 'no log';
  }
}
