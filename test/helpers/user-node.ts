/**
 * How a test starts a Node process that stands for one a user runs (a service, the CLI, `npm
 * start`, an image's command, our code as a service runs it): as a shell would, without what tap
 * adds to NODE_OPTIONS. tap's processinfo puts its `--import` in every test's NODE_OPTIONS and
 * patches child_process so that every process a test starts gets it back, whatever `env` it is
 * given; `env -u NODE_OPTIONS` drops it in the exec between (`env` execs node: the pid, and so
 * every signal, is node's). Under it a service was not the one users run: the API's and the
 * mailer's modules loaded in 1.6 s against 0.7 (a loader thread, a message a module), at 148 MB RSS
 * against 95, and a piscina thread of the API's never took a task (on-api-heap.ts). `nodeOptions`
 * is the NODE_OPTIONS the process gets instead (an image's); any of the test's own goes. `env` by
 * its path: some tests give the process a PATH without it (cli-config-errors: no Java, no Maven).
 */
export function userNode(args: readonly string[], nodeOptions = ''): [command: string, args: string[]] {
  const options = nodeOptions ? [`NODE_OPTIONS=${nodeOptions}`] : [];
  return ['/usr/bin/env', ['-u', 'NODE_OPTIONS', ...options, process.execPath, ...args]];
}
