/**
 * The network namespaces and devices the bench's real-link rows run in, and the kernel programs
 * it starts inside them.
 *
 * Contract:
 *  - every name made here starts with `dmb<pid>` (namespaces `dmb<pid>-<x>`, devices
 *    `dmb<pid><x>`, at most 15 characters), so a leftover names the process that made it;
 *    `sweepStale()` removes what dead bench processes left behind;
 *  - `teardown()` kills the children started here, deletes the namespaces (which deletes their
 *    devices) and any device still in the root namespace; it is synchronous and idempotent and
 *    also runs on process exit and on SIGINT / SIGTERM / SIGHUP, so an interrupted bench leaves
 *    nothing behind;
 *  - `realSupport()` says why this machine cannot run the real rows (not root, a missing tool,
 *    no /dev/net/tun), or '' when it can.
 * The process helpers (`sh`, `shQuiet`, `findTool`, `killAll`, `leftovers`, `sweepStaleNamed`) are generic
 * over the name prefix: the interop test harness (test/interop/netns.ts, prefix `dmt`) uses them too.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const BENCH_PREFIX = `dmb${process.pid}`;

const BIN_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** the path of an installed program, or null */
export function findTool(cmd: string): string | null {
  for (const d of BIN_DIRS) if (existsSync(`${d}/${cmd}`)) return `${d}/${cmd}`;
  return null;
}

/** the python3 the kernel-side programs run with */
export function python3(): string {
  return findTool('python3') ?? 'python3';
}

/** '' when the real rows can run here, else what is missing (one line) */
export function realSupport(): string {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces and TAP devices need CAP_NET_ADMIN)';
  const missing = ['ip', 'bridge', 'ethtool', 'ping', 'python3'].filter((t) => findTool(t) === null);
  if (missing.length > 0) return `missing ${missing.join(', ')} (iproute2, ethtool, iputils-ping, python3)`;
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun (the tun driver)';
  return '';
}

/** runs argv synchronously; throws with its stderr on failure */
export function sh(argv: string[], timeoutMs = 10_000): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/** runs argv synchronously, output discarded; whether it succeeded */
export function shQuiet(argv: string[]): boolean {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** what a finished child printed */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** a started kernel-side program: its first stdout line, and its end */
export interface Started {
  child: ChildProcess;
  /** resolves with the first line it prints (or rejects when it exits first) */
  firstLine: Promise<string>;
  done: Promise<ChildResult>;
}

export class BenchNetns {
  private readonly namespaces: string[] = [];
  private readonly rootDevs: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.teardown();
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.teardown();
    process.kill(process.pid, sig);
  };

  constructor() {
    process.on('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, this.onSignal);
  }

  /** a namespace `dmb<pid>-<tag>` with lo up and IPv6 off (no router or neighbour chatter) */
  addNetns(tag: string): string {
    const name = `${BENCH_PREFIX}-${tag}`;
    sh(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    sh(['ip', 'netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** a device name `dmb<pid><tag>` (≤ 15 characters) */
  devName(tag: string): string {
    const n = `${BENCH_PREFIX}${tag}`;
    if (n.length > 15) throw new Error(`device name too long: ${n}`);
    return n;
  }

  /** records a device made in the root namespace (deleted at teardown unless moved away) */
  rootDevice(name: string): void {
    this.rootDevs.push(name);
  }

  /** starts argv in namespace `ns` (null: the root namespace); killed at teardown */
  start(ns: string | null, argv: string[]): Started {
    // null: the root namespace (where our links' sockets are)
    const child = ns === null
      ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let out = '';
    let err = '';
    let lineSeen: ((l: string) => void) | null = null;
    const firstLine = new Promise<string>((resolve, reject) => {
      lineSeen = resolve;
      child.on('close', (code) => reject(new Error(`${argv[0]} exited (${code}) before it was ready: ${err.trim()}`)));
    });
    firstLine.catch(() => {});
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0 && lineSeen !== null) {
        lineSeen(out.slice(0, nl));
        lineSeen = null;
      }
    });
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString('utf8');
    });
    const done = new Promise<ChildResult>((resolve) => {
      child.on('close', (code) => {
        this.children.delete(child);
        resolve({ code, stdout: out, stderr: err });
      });
    });
    return { child, firstLine, done };
  }

  /** kills every child started here that still runs */
  killChildren(): void {
    killAll(this.children);
  }

  /** kills children, deletes namespaces and root devices; synchronous, idempotent */
  teardown(): void {
    this.killChildren();
    for (const ns of this.namespaces.splice(0)) shQuiet(['ip', 'netns', 'del', ns]);
    for (const d of this.rootDevs.splice(0)) shQuiet(['ip', 'link', 'del', d]);
  }

  /** teardown, and the exit hooks removed */
  dispose(): void {
    this.teardown();
    process.removeListener('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, this.onSignal);
  }
}

/** SIGKILLs every child in `children` (those already gone are skipped) and empties the set */
export function killAll(children: Set<ChildProcess>): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

/** namespaces and root devices named `prefix…` (default: this process's) */
export function leftovers(prefix = BENCH_PREFIX): string[] {
  const out: string[] = [];
  for (const line of sh(['ip', 'netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(prefix)) out.push(`netns ${name}`);
  }
  for (const line of sh(['ip', '-o', 'link', 'show']).split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m && m[1]!.startsWith(prefix)) out.push(`link ${m[1]}`);
  }
  return out;
}

/** removes namespaces and devices of bench processes that no longer run */
export function sweepStale(): string[] {
  return sweepStaleNamed('dmb', /^dmb(\d+)/);
}

/**
 * Removes the namespaces and root devices named `family…` whose maker is dead: `pidOf` matches
 * a name and captures the pid of the process that made it (other names are left alone).
 */
export function sweepStaleNamed(family: string, pidOf: RegExp): string[] {
  const removed: string[] = [];
  for (const item of leftovers(family)) {
    const [kind, name] = item.split(' ') as [string, string];
    const m = pidOf.exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    if (kind === 'netns' ? shQuiet(['ip', 'netns', 'del', name]) : shQuiet(['ip', 'link', 'del', name])) removed.push(item);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
