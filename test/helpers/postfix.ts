import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { freePort } from '../../packages/stack/src/ports.js';

const run = promisify(execFile);
/** Debian's path: /usr/sbin is not on every PATH. */
const POSTFIX = existsSync('/usr/sbin/postfix') ? '/usr/sbin/postfix' : 'postfix';

/** The daemons a relay-only Postfix needs (master.cf), none chrooted: its queue is a directory of the test's. */
const SERVICES = `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/**
 * A real Postfix (Debian's, installed by scripts/test-tools.sh) as a relay on 127.0.0.1: it takes
 * mail from this host for any domain of `transports` and hands it on to that domain's port, as an
 * MTA between the mailers and the recipients' servers does. A recipient the next hop refuses gets a
 * delivery status notification written by Postfix itself (RFC 3464), sent to the message's
 * Return-Path: through `transports` too, to the bounce listener.
 */
export class Postfix {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** What Postfix logged (maillog_file): every delivery and bounce, for a failing test's message. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'maillog'), 'utf8');
    } catch {
      return '';
    }
  }

  static async start(t: Test, transports: Record<string, number>): Promise<Postfix> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'postline-postfix-'));
    // The postfix user reads its queue and data directories below this one.
    chmodSync(dir, 0o755);
    const etc = join(dir, 'etc');
    mkdirSync(etc);
    // The queue directory is root's (Postfix makes its subdirectories at start), the data directory postfix's.
    mkdirSync(join(dir, 'spool'));
    mkdirSync(join(dir, 'data'));
    const uid = Number((await run('id', ['-u', 'postfix'])).stdout.trim());
    chownSync(join(dir, 'data'), uid, -1);
    const routes = Object.entries(transports)
      .map(([domain, p]) => `${domain}=smtp:[127.0.0.1]:${p}`)
      .join(', ');
    writeFileSync(
      join(etc, 'main.cf'),
      [
        'compatibility_level = 3.6',
        `queue_directory = ${join(dir, 'spool')}`,
        `data_directory = ${join(dir, 'data')}`,
        `maillog_file = ${join(dir, 'maillog')}`,
        `maillog_file_prefixes = ${dir}`,
        'myhostname = mta.postline.test',
        'mydestination =',
        'local_recipient_maps =',
        'alias_maps =',
        'alias_database =',
        `relay_domains = ${Object.keys(transports).join(', ')}`,
        'mynetworks = 127.0.0.0/8',
        'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
        'inet_interfaces = 127.0.0.1',
        'inet_protocols = ipv4',
        `transport_maps = inline:{ ${routes} }`,
        'smtp_tls_security_level = none',
        'smtpd_tls_security_level = none',
        'delay_warning_time = 0',
        'biff = no',
        '',
      ].join('\n'),
    );
    writeFileSync(join(etc, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\n${SERVICES}`);
    const postfix = new Postfix(port, dir);
    t.teardown(async () => {
      await run(POSTFIX, ['-c', etc, 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });
    // Postfix writes its complaints to the log, not to stderr.
    await run(POSTFIX, ['-c', etc, 'start']).catch((error: Error) => {
      throw new Error(`postfix did not start (${error.message}): ${postfix.log().slice(-2000)}`);
    });
    return postfix;
  }
}
