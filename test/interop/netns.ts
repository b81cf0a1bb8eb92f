// The interop harness: builds its own network out of Linux namespaces and devices, runs kernel
// programs inside, and always tears everything down.
//
// Contract:
//  - every name it creates starts with `dmt<pid>` (namespaces `dmt<pid>-<k>`, devices
//    `dmt<pid>v<k>`, at most 15 characters), so runs in parallel never collide and a leftover is
//    attributable; `sweepStale()` removes what dead processes left behind;
//  - `teardown()` kills the processes it started, deletes its namespaces (which deletes their
//    devices and the vxlan sockets) and any device still in the root namespace; it also runs on
//    process exit and on SIGINT/SIGTERM/SIGHUP (synchronously), so a failed or killed test leaves
//    nothing; `leftovers()` lists what still carries the prefix (the suite asserts it is empty);
//  - traffic goes only to loopback or into namespaces made here: namespaces get no default
//    route, the root-namespace ends of a vxlan are 127.0.0.1 / ::1. Inner addresses come from
//    198.18.0.0/15 (RFC 2544 benchmarking) and fd42::/64, so that a test mistake that reaches the
//    root namespace's kernel stack (e.g. Node's http `agent` bypassing `createConnection`) goes
//    nowhere real;
//  - `interopSupport()` says whether this machine can run the suite (root, iproute2, netns);
//    `skipOrFail(t, reason)` skips with the reason, or fails loudly under `process.env.CI`.
// The name-prefix-generic process helpers (sh, leftovers, the stale sweep) are the bench's, from
// src/cli/bench/netns.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { findTool, killAll, leftovers as leftoversNamed, sh, shQuiet, sweepStaleNamed } from '../../src/cli/bench/netns.js';
import { setLocalBypass } from './rtnl.js';

export { sh };

export const PREFIX = `dmt${process.pid}`;

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function which(cmd: string): boolean {
  return findTool(cmd) !== null;
}

let support: { ok: boolean; reason: string } | null = null;

/** whether this machine can build namespaces (cached) */
export function interopSupport(): { ok: boolean; reason: string } {
  if (support) return support;
  if (process.platform !== 'linux') support = { ok: false, reason: 'not Linux' };
  else if (process.getuid?.() !== 0) support = { ok: false, reason: 'not root (network namespaces need CAP_NET_ADMIN)' };
  else if (!which('ip') || !which('bridge')) support = { ok: false, reason: 'iproute2 (ip, bridge) is not installed' };
  else {
    const probe = `${PREFIX}-probe`;
    if (!shQuiet(['ip', 'netns', 'add', probe])) support = { ok: false, reason: 'cannot create a network namespace' };
    else {
      shQuiet(['ip', 'netns', 'del', probe]);
      support = { ok: true, reason: '' };
    }
  }
  return support;
}

/** whether each named program is installed; missing ones listed */
export function missingTools(...tools: string[]): string[] {
  return tools.filter((t) => !which(t));
}

/** skips the test with `reason`, or fails it under CI, where the suite must run */
export function skipOrFail(t: TestContext, reason: string): void {
  if (process.env.CI) throw new Error(`interop cannot run in CI: ${reason}`);
  t.skip(`interop skipped: ${reason}`);
}

/** a namespace made by the harness */
export class Netns {
  constructor(readonly harness: NetnsHarness, readonly name: string) {}

  /** `ip netns exec NAME argv...`, synchronously (setup) */
  sh(argv: string[], timeoutMs?: number): string {
    return sh(['ip', 'netns', 'exec', this.name, ...argv], timeoutMs);
  }

  /** `ip -n NAME args...` */
  ip(...args: string[]): string {
    return sh(['ip', '-n', this.name, ...args]);
  }

  /** runs argv in the namespace without blocking the event loop; resolves when it exits or after `timeoutMs` (killed) */
  exec(argv: string[], opts: { timeoutMs?: number; input?: Uint8Array | string } = {}): Promise<ExecResult> {
    const child = this.spawn(argv);
    const timeoutMs = opts.timeoutMs ?? 20_000;
    return new Promise((resolve) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout?.on('data', (b: Buffer) => out.push(b));
      child.stderr?.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  }

  /** starts argv in the namespace; the harness kills it at teardown */
  spawn(argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.harness.track(child);
    return child;
  }
}

export interface VxlanToUsOptions {
  /** the VNI (from `nextVni()`: unique per process and call) */
  vni: number;
  /** 4: outer 127.0.0.1, 6: outer ::1 */
  outer: 4 | 6;
  /** the UDP port our VxlanLink listens on (the kernel sends there) */
  ourPort: number;
  /** the port the kernel vxlan socket binds (root namespace, all addresses); default 4789 */
  kernelPort?: number;
  mtu: number;
  /** addresses for the kernel side, CIDR ('198.18.42.1/24', 'fd42::1/64') */
  addrs: string[];
}

export interface VxlanToUs {
  dev: string;
  vni: number;
  kernelPort: number;
  /** the outer address the kernel's socket is on, our link's remote */
  outerAddr: string;
}

/** name and VNI counters are per process: several harnesses may live at once */
let nameSeq = 0;
let vniSeq = 0;

/** creates and always removes namespaces and devices; see the module contract */
export class NetnsHarness {
  private readonly namespaces: string[] = [];
  private readonly rootDevs: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private torn = false;

  constructor() {
    installExitHooks(this);
  }

  private nextName(kind: '-' | 'v'): string {
    const name = `${PREFIX}${kind}${nameSeq++}`;
    if (name.length > 15 && kind === 'v') throw new Error(`device name too long: ${name}`);
    return name;
  }

  /** a VNI no other harness process uses at the same time (pid-based block of 256) */
  nextVni(): number {
    return ((process.pid % 65521) * 256 + (vniSeq++ % 256)) + 1;
  }

  track(child: ChildProcess): void {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
  }

  /** a fresh namespace with lo up; IPv6 off unless asked (no MLD / RS noise) */
  addNetns(opts: { ipv6?: boolean } = {}): Netns {
    const name = this.nextName('-');
    sh(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    const ns = new Netns(this, name);
    const v6 = opts.ipv6 ? '0' : '1';
    ns.sh(['sysctl', '-qw', `net.ipv6.conf.all.disable_ipv6=${v6}`, `net.ipv6.conf.default.disable_ipv6=${v6}`]);
    if (opts.ipv6) {
      // no router solicitations or DAD delays on the test links
      ns.sh(['sysctl', '-qw', 'net.ipv6.conf.default.router_solicitations=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
    }
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /**
   * A kernel vxlan device inside `ns` whose peer is our VxlanLink on loopback: created in the root
   * namespace (its UDP socket stays there, on `kernelPort`), localbypass turned off, moved into
   * `ns`, default FDB entry to our port, MTU, addresses, tx checksum offload off.
   */
  addVxlanToUs(ns: Netns, o: VxlanToUsOptions): VxlanToUs {
    const dev = this.nextName('v');
    const outerAddr = o.outer === 4 ? '127.0.0.1' : '::1';
    const kernelPort = o.kernelPort ?? 4789;
    const vni = o.vni;
    sh(['ip', 'link', 'add', dev, 'type', 'vxlan', 'id', String(vni), 'local', outerAddr, 'dstport', String(kernelPort), 'nolearning']);
    this.rootDevs.push(dev);
    const lb = setLocalBypass(dev, false);
    if (lb !== null && lb !== 0) throw new Error(`${dev}: localbypass still ${lb}`);
    sh(['ip', 'link', 'set', dev, 'netns', ns.name]);
    this.rootDevs.splice(this.rootDevs.indexOf(dev), 1);
    sh(['bridge', '-n', ns.name, 'fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', outerAddr, 'port', String(o.ourPort)]);
    ns.ip('link', 'set', dev, 'mtu', String(o.mtu));
    for (const a of o.addrs) {
      if (a.includes(':')) ns.ip('-6', 'addr', 'add', a, 'dev', dev, 'nodad');
      else ns.ip('addr', 'add', a, 'dev', dev);
    }
    ns.ip('link', 'set', dev, 'up');
    // inner checksums must be complete on the wire (over lo the kernel finishes them anyway)
    if (which('ethtool')) shQuiet(['ip', 'netns', 'exec', ns.name, 'ethtool', '-K', dev, 'tx', 'off']);
    return { dev, vni, kernelPort, outerAddr };
  }

  /** a veth pair between two namespaces, with addresses (the kernel ↔ kernel baseline) */
  addVeth(a: Netns, aAddrs: string[], b: Netns, bAddrs: string[], mtu = 1500): [string, string] {
    const da = this.nextName('v');
    const db = this.nextName('v');
    sh(['ip', 'link', 'add', da, 'netns', a.name, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', db, 'netns', b.name, 'mtu', String(mtu)]);
    for (const [ns, dev, addrs] of [[a, da, aAddrs], [b, db, bAddrs]] as const) {
      for (const x of addrs) {
        if (x.includes(':')) ns.ip('-6', 'addr', 'add', x, 'dev', dev, 'nodad');
        else ns.ip('addr', 'add', x, 'dev', dev);
      }
      ns.ip('link', 'set', dev, 'up');
    }
    return [da, db];
  }

  /** kills children, deletes namespaces and root devices; idempotent, synchronous */
  teardown(): void {
    killAll(this.children);
    for (const ns of this.namespaces.splice(0)) shQuiet(['ip', 'netns', 'del', ns]);
    for (const d of this.rootDevs.splice(0)) shQuiet(['ip', 'link', 'del', d]);
    this.torn = true;
  }

  get tornDown(): boolean {
    return this.torn;
  }
}

/** namespaces and root-namespace devices whose names start with `prefix` (default: this process's) */
export function leftovers(prefix = PREFIX): string[] {
  return leftoversNamed(prefix);
}

/** removes namespaces and devices left by harness processes that no longer exist */
export function sweepStale(): string[] {
  return sweepStaleNamed('dmt', /^dmt(\d+)[-v]/);
}

const live = new Set<NetnsHarness>();
let hooked = false;

function installExitHooks(h: NetnsHarness): void {
  live.add(h);
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const x of live) x.teardown();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSig = (): void => {
      for (const x of live) x.teardown();
      process.removeListener(sig, onSig);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSig);
  }
}
