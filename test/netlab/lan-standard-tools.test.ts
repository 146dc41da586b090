// An mDNS stack that is not ours must see a p2p-chat listener as the README promises: avahi-daemon
// and `avahi-browse` on one lab host resolve a real `listen` on another host of the same bridge, with
// its instance name, port and TXT fields, and see it leave when it exits cleanly. Avahi's pid file
// and socket paths are compiled in under /run, so avahi runs in a private mount namespace with its
// own /run and its own D-Bus: nothing of it touches the machine's avahi, system bus or network.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Netlab, netlabSkip } from '../helpers/netlab.js';
import type { PeerProcess } from '../helpers/peer-process.js';
import { runCommand } from '../helpers/run-command.js';

/** The programs this suite drives, and the Debian packages that bring them (see .ci/run). */
const TOOLS = ['avahi-daemon', 'avahi-browse', 'dbus-daemon', 'unshare', 'nsenter'] as const;
const PACKAGES = 'avahi-daemon avahi-utils dbus-daemon util-linux';

const SERVICE_TYPE = '_p2p-chat._tcp';
/** Inside the stack's private /run; both avahi-daemon and avahi-browse are pointed at it. */
const BUS_SOCKET = '/run/dbus/system_bus_socket';
const ADDRESSES = { peer: '203.0.113.31', tools: '203.0.113.32' } as const;

/** dbus-daemon and avahi-daemon start in well under a second; the margin is for noisy machines. */
const START_WAIT_MS = 10_000;
/** One `avahi-browse -t` pass ends after about a second; retried until the listener shows up. */
const BROWSE_WAIT_MS = 15_000;
/** README: a clean exit is seen "at once"; avahi drops a record 1 s after its goodbye. */
const GOODBYE_WAIT_MS = 2_000 + 5_000;
const STOP_WAIT_MS = 5_000;

const BUS_CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${BUS_SOCKET}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

// Browsing only: IPv4 on the lab interface, no wide-area (unicast DNS) lookups, nothing published.
const AVAHI_CONFIG = `[server]
host-name=p2p-chat-avahi
use-ipv4=yes
use-ipv6=no
allow-interfaces=eth0
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=yes
`;

/** Why the avahi stack cannot run here (the tools that are missing), or undefined when it can. */
async function avahiUnavailable(): Promise<string | undefined> {
  const missing: string[] = [];
  for (const tool of TOOLS) {
    try {
      await runCommand(tool, ['--version']);
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length === 0) return undefined;
  return `${missing.join(', ')} not found (Debian packages: ${PACKAGES})`;
}

/** Skip locally with the reason; under CI=true run, so that before() fails with it. */
async function standardToolsSkip(): Promise<string | false> {
  const labSkip = await netlabSkip();
  if (labSkip !== false) return labSkip;
  const reason = await avahiUnavailable();
  return reason === undefined || process.env.CI === 'true' ? false : reason;
}

/** A long-running helper process whose stdout and stderr are kept for readiness and diagnostics. */
class Daemon {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<void>;
  #done = false;

  constructor(
    readonly what: string,
    command: string,
    args: readonly string[],
  ) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => {
      this.log += chunk.toString('utf8');
    };
    this.child.stdout!.on('data', append);
    this.child.stderr!.on('data', append);
    this.exited = new Promise((resolve) => {
      const done = () => {
        this.#done = true;
        resolve();
      };
      this.child.once('exit', done);
      this.child.once('error', (error) => {
        this.log += `spawn ${command} failed: ${error.message}\n`;
        done();
      });
    });
  }

  async waitForLog(pattern: RegExp, timeoutMs = START_WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log)) {
      if (this.#done) throw new Error(`${this.what} exited before it was ready:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`${this.what} not ready after ${timeoutMs} ms:\n${this.log}`);
      await sleep(50);
    }
  }

  /** SIGTERM, then SIGKILL if it lingers; bounded either way. */
  async stop(): Promise<void> {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (this.#done) return;
      this.child.kill(signal);
      await Promise.race([this.exited, sleep(STOP_WAIT_MS)]);
    }
  }
}

/**
 * dbus-daemon and avahi-daemon on one lab host. dbus-daemon is started through `unshare`, which
 * mounts a fresh tmpfs on /run for it (the private mount namespace); avahi-daemon and every
 * avahi-browse enter that namespace and the host's network namespace with `nsenter`.
 */
class AvahiStack {
  readonly #bus: Daemon;
  #avahi: Daemon | undefined;

  private constructor(bus: Daemon) {
    this.#bus = bus;
  }

  static async start(lab: Netlab, host: string, configDir: string): Promise<AvahiStack> {
    const busConfig = join(configDir, 'bus.conf');
    const avahiConfig = join(configDir, 'avahi-daemon.conf');
    writeFileSync(busConfig, BUS_CONFIG);
    writeFileSync(avahiConfig, AVAHI_CONFIG);

    // `ip netns exec`, `unshare` and `sh` all exec in place: the child's pid is dbus-daemon's.
    const script = `mount -t tmpfs -o mode=0755 p2p-chat-avahi /run && mkdir /run/dbus && exec dbus-daemon --config-file="$1" --nofork --nopidfile --print-address`;
    const bus = new Daemon('dbus-daemon', 'ip', [
      'netns', 'exec', lab.host(host).namespace,
      'unshare', '--mount', '--propagation', 'private', 'sh', '-euc', script, 'sh', busConfig,
    ]);
    const stack = new AvahiStack(bus);
    try {
      await bus.waitForLog(/^unix:path=/m);
      const avahi = new Daemon('avahi-daemon', 'nsenter', [
        ...stack.#enter(),
        'avahi-daemon', '--no-drop-root', '--no-chroot', '--no-rlimits', '--no-proc-title', '-f', avahiConfig,
      ]);
      stack.#avahi = avahi;
      await avahi.waitForLog(/Server startup complete/);
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** One `avahi-browse -pt` pass (with `-r`: resolved, `=` lines), parsed. */
  async browse(resolve: boolean): Promise<BrowseLine[]> {
    const flags = resolve ? '-rpt' : '-pt';
    const stdout = await runCommand('nsenter', [...this.#enter(), 'avahi-browse', flags, SERVICE_TYPE], BROWSE_WAIT_MS);
    return stdout.split('\n').filter(Boolean).map(parseBrowseLine);
  }

  /** The resolved `=` line for `instance`, once avahi-browse shows it; fails after BROWSE_WAIT_MS. */
  async resolved(instance: string): Promise<BrowseLine> {
    const deadline = Date.now() + BROWSE_WAIT_MS;
    for (;;) {
      const lines = await this.browse(true);
      const line = lines.find((l) => l.event === '=' && l.name === instance);
      if (line) return line;
      if (Date.now() > deadline) {
        throw new Error(`avahi-browse never resolved "${instance}"; last pass:\n${lines.map((l) => l.raw).join('\n')}\n${this.log}`);
      }
      await sleep(500);
    }
  }

  /** Both daemons' output, for failure messages. */
  get log(): string {
    return `--- dbus-daemon\n${this.#bus.log}--- avahi-daemon\n${this.#avahi?.log ?? '(not started)\n'}`;
  }

  async stop(): Promise<void> {
    await this.#avahi?.stop();
    await this.#bus.stop();
  }

  /** nsenter arguments: dbus-daemon's mount and network namespaces, and its bus. */
  #enter(): string[] {
    const pid = this.#bus.child.pid;
    if (pid === undefined) throw new Error(`dbus-daemon has no pid:\n${this.#bus.log}`);
    return ['--target', String(pid), '--mount', '--net', 'env', `DBUS_SYSTEM_BUS_ADDRESS=unix:path=${BUS_SOCKET}`];
  }
}

interface BrowseLine {
  readonly raw: string;
  /** `+` found, `-` gone, `=` resolved. */
  readonly event: string;
  readonly iface: string;
  readonly protocol: string;
  readonly name: string;
  readonly type: string;
  readonly domain: string;
  /** Only on `=` lines. */
  readonly host?: string;
  readonly address?: string;
  readonly port?: string;
  readonly txt?: Record<string, string>;
}

/** avahi-browse -p: `;`-separated fields, labels escaped as `\.`, `\\` and `\DDD` (decimal). */
function parseBrowseLine(raw: string): BrowseLine {
  const [event = '', iface = '', protocol = '', name = '', type = '', domain = '', host, address, port, ...rest] = raw.split(';');
  const line = { raw, event, iface, protocol, name: unescapeAvahi(name), type, domain };
  if (event !== '=') return line;
  // TXT strings: each quoted, space-separated, with the same escapes inside.
  const txt: Record<string, string> = {};
  for (const [, quoted = ''] of rest.join(';').matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    const entry = unescapeAvahi(quoted);
    const eq = entry.indexOf('=');
    if (eq > 0) txt[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { ...line, host, address, port, txt };
}

function unescapeAvahi(text: string): string {
  return text.replace(/\\(\d{3}|.)/g, (_, code: string) => (code.length === 3 ? String.fromCharCode(Number(code)) : code));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('netlab: avahi (an independent mDNS stack) sees a p2p-chat listener', { skip: await standardToolsSkip(), timeout: 90_000 }, () => {
  let lab: Netlab | undefined;
  let avahi: AvahiStack | undefined;
  let listener: { peer: PeerProcess; fingerprint: string } | undefined;

  before(async () => {
    // Reached with tools missing only under CI=true, where that is a failure, not a skip.
    const reason = await avahiUnavailable();
    if (reason !== undefined) throw new Error(`avahi stack unavailable under CI=true: ${reason}`);
    lab = await Netlab.create();
    await lab.addLan('lan', '203.0.113.0/24');
    for (const [host, address] of Object.entries(ADDRESSES)) await lab.addHost(host, { lan: 'lan', address: `${address}/24` });
    avahi = await AvahiStack.start(lab, 'tools', lab.tempHome());
  });

  after(async () => {
    await avahi?.stop();
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('avahi-browse -rpt resolves the listener: instance name, address, port 5050, TXT fp, name, v', async () => {
    const peer = lab!.spawnPeer('peer', ['listen', '--json', '--name', 'alice', '--host', '0.0.0.0']);
    const listening = await peer.waitForEvent('listening');
    const announced = await peer.waitForEvent('announced');
    const fingerprint = String(listening.fingerprint);
    listener = { peer, fingerprint };
    const instance = `alice ${fingerprint.slice(0, 7)}`;
    assert.equal(announced.instance, instance);

    const line = await avahi!.resolved(instance);
    assert.equal(line.iface, 'eth0', line.raw);
    assert.equal(line.protocol, 'IPv4', line.raw);
    assert.equal(line.type, SERVICE_TYPE, line.raw);
    assert.equal(line.domain, 'local', line.raw);
    assert.match(line.host ?? '', /\.local$/, `the SRV target is a .local host name: ${line.raw}`);
    assert.equal(line.address, ADDRESSES.peer, `its host name resolves to the listener's address: ${line.raw}`);
    assert.equal(line.port, '5050', line.raw);
    assert.deepEqual(line.txt, { fp: fingerprint, name: 'alice', v: '1', udp: '5050' }, `TXT as the README lists it: ${line.raw}`);
  });

  it('avahi sees the listener leave at once on a clean exit (mDNS goodbye)', async (t) => {
    assert.ok(listener, 'the listener of the previous test is running');
    const instance = `alice ${listener.fingerprint.slice(0, 7)}`;
    const present = (lines: BrowseLine[]) => lines.some((l) => l.event === '+' && l.name === instance);
    assert.ok(present(await avahi!.browse(false)), 'listed before the exit');

    const termAt = Date.now();
    listener.peer.kill('SIGTERM');
    assert.equal(await listener.peer.exitCode(), 0, `a listener leaves cleanly on SIGTERM; stderr:\n${listener.peer.stderr}`);
    let lines = await avahi!.browse(false);
    while (present(lines)) {
      if (Date.now() - termAt > GOODBYE_WAIT_MS) {
        assert.fail(`avahi still lists "${instance}" ${GOODBYE_WAIT_MS} ms after SIGTERM:\n${lines.map((l) => l.raw).join('\n')}`);
      }
      await sleep(250);
      lines = await avahi!.browse(false);
    }
    t.diagnostic(`avahi dropped the listener ${Date.now() - termAt} ms after SIGTERM`);
  });
});
