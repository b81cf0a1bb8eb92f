/**
 * Runs one packetdrill script against one simulated host in virtual time. The host has a test
 * device (`tun0`) whose link is the interpreter: inbound `<` lines are built as frames (IPv4,
 * IPv6 or IPv4 with AF_INET6 sockets, packetdrill's addresses) and handed to the device;
 * frames the stack sends are captured, parsed and matched against `>` lines (with packetdrill's
 * aggregation of consecutive segments, timing tolerance and ISN / TS mapping). System calls go
 * through `host.sys`; a blocking call (`a...b`) is retried after every stack event until it
 * returns, and its return time is checked. Shell commands become stack settings, `%{ }%`
 * snippets are evaluated over a TCP_INFO snapshot. The run is synchronous and deterministic.
 *
 * Result: pass, fail with the first mismatch ("line N: expected X, actual Y"), or skip with the
 * feature the script needs that the interpreter or host lacks.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Network } from '../network.js';
import type { Host } from '../host.js';
import { InetAddr } from '../inet/index.js';
import type { NetDevice, LinkPort } from '../netdev/index.js';
import { skbCopyBits, skbFree, skbPut, ubufMarkCopied, type SkBuff } from '../skb/index.js';
import { SockOptVal } from '../socket/sys/index.js';
import { VirtualScheduler } from '../time/index.js';
import { AF_INET, AF_INET6, ERRNO, SOCK_STREAM, SOL_TCP, TCP_INFO } from '../uapi/index.js';
import type { CodeEvent, CommandEvent, PacketEvent, Script, ScriptEvent, SyscallEvent, TcpSegSpec } from './ast.js';
import { ScriptFail, ScriptSkip } from './errors.js';
import { matchTcp, type MatchConn } from './match.js';
import {
  FLAG_ACK, FLAG_CWR, FLAG_FIN, FLAG_PSH, FLAG_SYN, addrBytes, buildIcmpError, buildIp, buildTcp, encodeOptions, ethFrame,
  flagBits, type IpFields, type LivePacket, parseFrame,
} from './packet.js';
import { ParseError, parseScript } from './parser.js';
import { PyAssertion, PyUnsupported, runPython, type PyVal } from './python.js';
import { interpretCommand, type ShellAction } from './shell.js';
import { PY_CONSTANTS, TCP_INFO_LAYOUT, TCP_STATE_NUMBERS, errnoNumber, errnoSymbol } from './symbols.js';
import { PENDING, VFD_BASE, prepareCall, type Call, type SysCtx } from './syscalls.js';

export type Mode = 'ipv4' | 'ipv6' | 'ipv4-mapped-ipv6';

export interface ScriptResult {
  result: 'pass' | 'fail' | 'skip';
  reason: string;
}

export interface RunOptions {
  mode: Mode;
  /** `-D` symbols (the runner adds packetdrill's per-mode defaults) */
  defines?: ReadonlyMap<string, string>;
  /** the script's directory (resolves `../common/defaults.sh`) */
  dir: string;
}

const MODE_ADDRS: Record<Mode, { local: string; remote: string; prefix: number; mtu: number }> = {
  ipv4: { local: '192.168.0.1', remote: '192.0.2.1', prefix: 16, mtu: 1500 },
  'ipv4-mapped-ipv6': { local: '192.168.0.1', remote: '192.0.2.1', prefix: 16, mtu: 1500 },
  ipv6: { local: 'fd3d:a0b:17d6::1', remote: 'fd3d:fa7b:d17d::1', prefix: 48, mtu: 1520 },
};

const REMOTE_MAC = 0x02_00_5e_00_02_01;
const BIND_PORT = 8080;
const FIRST_REMOTE_PORT = 40_000;
/** a script may not run longer than this in virtual time */
const MAX_SCRIPT_US = 600_000_000;

/** packetdrill's -D defines of `run_all.py` for a mode */
export function modeDefines(mode: Mode): Map<string, string> {
  const m = new Map<string, string>();
  if (mode === 'ipv6') {
    m.set('TFO_COOKIE', 'c1d1e9742a47a9bc');
    m.set('CMSG_LEVEL_IP', 'SOL_IPV6');
    m.set('CMSG_TYPE_RECVERR', 'IPV6_RECVERR');
  } else {
    m.set('TFO_COOKIE', '3021b9d889017eeb');
    m.set('CODE', 'host_unreachable');
    // the mapped mode's socket is AF_INET6: its error queue answers at SOL_IPV6 (run_all.py)
    m.set('CMSG_LEVEL_IP', mode === 'ipv4' ? 'SOL_IP' : 'SOL_IPV6');
    m.set('CMSG_TYPE_RECVERR', mode === 'ipv4' ? 'IP_RECVERR' : 'IPV6_RECVERR');
  }
  return m;
}

/** whether upstream's runner runs `file` in `mode` (`*v6.pkt` only IPv6, `*v4.pkt` not IPv6) */
export function modeApplies(file: string, mode: Mode): boolean {
  if (file.endsWith('v6.pkt')) return mode === 'ipv6';
  if (file.endsWith('v4.pkt')) return mode !== 'ipv6';
  return true;
}

/** runs the script file at `path`; `defines` add to (and override) the mode's -D symbols */
export function runScriptFile(path: string, mode: Mode, defines: ReadonlyMap<string, string> = new Map()): ScriptResult {
  if (!modeApplies(basename(path), mode)) return { result: 'skip', reason: `not run in ${mode} mode (upstream runs *v4.pkt / *v6.pkt scripts in their family only)` };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { result: 'fail', reason: `cannot read script: ${(e as Error).message}` };
  }
  return runScriptText(text, { mode, dir: dirname(path), defines: new Map([...modeDefines(mode), ...defines]) });
}

/** runs a script given as text */
export function runScriptText(text: string, opts: RunOptions): ScriptResult {
  let script: Script;
  try {
    script = parseScript(text, opts.defines ?? modeDefines(opts.mode));
  } catch (e) {
    if (e instanceof ParseError) return { result: 'skip', reason: `parse error: ${e.message}` };
    throw e;
  }
  let r: Runner | null = null;
  try {
    r = new Runner(script, opts);
    r.run();
    return r.finish();
  } catch (e) {
    if (e instanceof ScriptFail) return { result: 'fail', reason: r === null ? e.message : r.withNotes(e.message) };
    if (e instanceof ScriptSkip) return { result: 'skip', reason: e.message };
    return { result: 'fail', reason: `interpreter or stack exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(e)}` };
  } finally {
    r?.close();
  }
}

/** the connection under test */
interface Conn extends MatchConn {
  localPort: number;
  remotePort: number;
  passive: boolean;
  /** the remote ISN was set by an inbound SYN / SYN-ACK */
  remoteSynSeen: boolean;
}

interface PendingCall {
  ev: ScriptEvent;
  call: Call;
  endUs: number;
  tolUs: number;
}

class Capture implements LinkPort {
  readonly queue: LivePacket[] = [];
  constructor(private readonly sched: VirtualScheduler, private readonly local: Uint8Array, private readonly remote: Uint8Array) {}
  transmit(skb: SkBuff): void {
    // a tun device copies caller-owned frags (skb_orphan_frags_rx): zero-copy sends report COPIED
    if (skb.uarg !== null) ubufMarkCopied(skb.uarg);
    const bytes = new Uint8Array(skb.len);
    const ok = skbCopyBits(skb, 0, bytes, 0, skb.len) === 0;
    skbFree(skb);
    if (!ok) return;
    const p = parseFrame(bytes, this.sched.now());
    if (p === null) return;
    if (!sameBytes(p.src, this.local) || !sameBytes(p.dst, this.remote)) return;
    this.queue.push(p);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const secs = (us: number): string => (us / 1e6).toFixed(6);

class Runner implements SysCtx {
  private readonly net: Network;
  private readonly host: Host;
  private readonly dev: NetDevice;
  private readonly sched: VirtualScheduler;
  private readonly capture: Capture;
  private readonly family: 4 | 6;
  readonly sockFamily: number;
  readonly localAddr: InetAddr;
  readonly remoteAddr: InetAddr;
  readonly bindPort = BIND_PORT;
  readonly connectPort = BIND_PORT;
  private readonly ipOut: IpFields;
  private readonly ipIn: IpFields;
  private readonly mtu: number;
  // options
  private tolUs = 4000;
  private tolPct = 12.5;
  private tsTickUs = 0;
  private strict = false;
  private gsoMss = 0;
  // state
  private conn: Conn | null = null;
  /** packetdrill's state of the socket under test: what the next SYN (either way) means */
  private sut: 'socket' | 'listen' | 'connect' | 'conn' = 'socket';
  private nextRemotePort = FIRST_REMOTE_PORT;
  private readonly fdMap = new Map<number, number>();
  private sutFd = -1;
  private pending: PendingCall | null = null;
  private lastUs = 0;
  private prevSchedUs = 0;
  private lastInboundUs = -1;
  private readonly pyVars = new Map<string, PyVal>();
  private assertFail: ScriptFail | null = null;
  private readonly notes: string[] = [];
  private readonly sysctls = new Map<string, string>();
  /** scratch files (path → size) and open ones (descriptor → size) */
  private readonly files = new Map<string, number>();
  private readonly openFiles = new Map<number, number>();
  private nextVfd = VFD_BASE;

  constructor(private readonly script: Script, private readonly opts: RunOptions) {
    const o = script.options;
    const num = (k: string, d: number): number => {
      const v = o.get(k);
      if (v === undefined) return d;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new ScriptSkip(0, `bad option --${k}=${v}`);
      return n;
    };
    for (const k of o.keys()) {
      if (!['tolerance_usecs', 'tolerance_percent', 'tcp_ts_tick_usecs', 'strict_segments', 'mss', 'mtu', 'local_ip', 'remote_ip', 'ip_version', 'send_omit_free', 'bind_port', 'connect_port', 'gateway_ip', 'netmask_ip', 'non_fatal', 'verbose', 'tcp_ts_ecr_scaled'].includes(k)) {
        this.notes.push(`option --${k} ignored`);
      }
    }
    this.tolUs = num('tolerance_usecs', 4000);
    this.tolPct = num('tolerance_percent', 12.5);
    this.tsTickUs = num('tcp_ts_tick_usecs', 0);
    this.strict = o.has('strict_segments');
    this.gsoMss = num('mss', 0);
    const ipv = o.get('ip_version');
    if (ipv !== undefined && ipv !== opts.mode) throw new ScriptSkip(0, `script is for --ip_version=${ipv}, not ${opts.mode}`);
    const ma = MODE_ADDRS[opts.mode];
    this.mtu = opts.mode === 'ipv6' ? ma.mtu : num('mtu', ma.mtu);
    this.family = opts.mode === 'ipv6' ? 6 : 4;
    this.sockFamily = opts.mode === 'ipv4' ? AF_INET : AF_INET6;
    this.localAddr = InetAddr.parse(ma.local);
    this.remoteAddr = InetAddr.parse(ma.remote);
    const lb = addrBytes(this.localAddr, this.family);
    const rb = addrBytes(this.remoteAddr, this.family);
    this.ipOut = { family: this.family, src: lb, dst: rb, tos: 0, ttl: 64, flowlabel: 0 };
    this.ipIn = { family: this.family, src: rb, dst: lb, tos: 0, ttl: 64, flowlabel: 0 };

    this.net = new Network({ seed: 1 });
    const s = this.net.sched;
    if (!(s instanceof VirtualScheduler)) throw new Error('conformance needs a virtual-time network');
    this.sched = s;
    this.host = this.net.addHost('local');
    this.dev = this.host.addDevice('tun0', { mtu: this.mtu, rxQueues: 1 });
    this.capture = new Capture(s, lb, rb);
    this.dev.link = this.capture;
    this.host.ip.addAddress('tun0', `${ma.local}/${ma.prefix}`, { nodad: true });
    this.host.ip.addRoute({ dst: `${ma.remote}/${this.family === 4 ? 32 : 128}`, dev: 'tun0' });
    this.host.ip.addNeighbour('tun0', ma.remote, REMOTE_MAC);
  }

  get sys(): Host['sys'] {
    return this.host.sys;
  }

  now(): number {
    return this.sched.now();
  }

  get tstampTolUs(): number {
    return this.tolUs;
  }

  fd(scriptFd: number): number {
    return this.fdMap.get(scriptFd) ?? scriptFd;
  }

  alias(scriptFd: number, realFd: number): void {
    this.fdMap.set(scriptFd, realFd);
  }

  setSut(fd: number): void {
    this.sutFd = fd;
  }

  openFile(path: string): number {
    const size = this.files.get(path);
    if (size === undefined) return -ERRNO.ENOENT;
    const fd = this.nextVfd++;
    this.openFiles.set(fd, size);
    return fd;
  }

  fileSize(fd: number): number {
    return this.openFiles.get(fd) ?? -1;
  }

  closeFile(fd: number): boolean {
    return this.openFiles.delete(fd);
  }

  sutState(st: 'socket' | 'listen' | 'connect'): void {
    this.sut = st;
    if (st === 'socket') this.conn = null;
  }

  withNotes(msg: string): string {
    return this.notes.length === 0 ? msg : `${msg} [${this.notes.join('; ')}]`;
  }

  close(): void {
    this.net.close();
  }

  // ---- top level ----

  run(): void {
    if (this.script.init !== null) this.command(this.script.init.line, this.script.init.cmd);
    for (const ev of this.script.events) {
      this.event(ev);
      if (this.now() > MAX_SCRIPT_US) throw new ScriptFail(ev.line, 'script ran past 600 s of virtual time');
    }
    if (this.pending !== null) this.waitPending();
    // leave the stack the sniff window of the last event, as packetdrill's end does not wait
  }

  finish(): ScriptResult {
    if (this.assertFail !== null) return { result: 'fail', reason: this.withNotes(this.assertFail.message) };
    return { result: 'pass', reason: '' };
  }

  private tolerance(schedUs: number): number {
    const step = Math.max(0, schedUs - this.prevSchedUs);
    return Math.max(this.tolUs, Math.floor((step * this.tolPct) / 100));
  }

  private event(ev: ScriptEvent): void {
    const b = ev.body;
    const base = b.kind === 'packet' && b.dir === '<' && this.lastInboundUs >= 0 && this.lastInboundIsPrev ? this.lastInboundUs : this.lastUs;
    const t = ev.time.kind === 'abs' ? ev.time.us : ev.time.kind === 'rel' ? base + ev.time.us : this.now();
    this.lastInboundIsPrev = false;
    switch (b.kind) {
      case 'packet':
        if (b.dir === '>') this.outbound(ev, b, t, base);
        else {
          this.advance(t);
          this.inbound(ev, b);
          this.lastInboundUs = t;
          this.lastInboundIsPrev = true;
          this.done(t, Math.max(t, this.now()));
        }
        break;
      case 'syscall':
        this.syscall(ev, b, t, base);
        break;
      case 'command':
        this.advance(t);
        this.timedCommand(ev, b);
        this.done(t, Math.max(t, this.now()));
        break;
      case 'code':
        this.advance(t);
        this.code(ev, b);
        this.done(t, Math.max(t, this.now()));
        break;
    }
  }

  private lastInboundIsPrev = false;

  private done(schedUs: number, actualUs: number): void {
    this.prevSchedUs = schedUs;
    this.lastUs = actualUs;
  }

  // ---- time ----

  /** one stack event at or before `limit`; false when none */
  private step(limit: number): boolean {
    if (!this.sched.step(limit)) return false;
    this.retryPending();
    return true;
  }

  /** runs the stack up to `t` (no-op when `t` is not in the future) */
  private advance(t: number): void {
    if (this.pending !== null) this.retryPending();
    while (this.step(t)) {
      /* run */
    }
    if (t > this.now()) this.sched.advanceTo(t);
  }

  // ---- blocking calls ----

  private retryPending(): void {
    const p = this.pending;
    if (p === null) return;
    const r = p.call.attempt();
    if (r === PENDING) return;
    this.pending = null;
    this.checkResult(p.ev, p.call, r);
    const now = this.now();
    if (now < p.endUs - p.tolUs || now > p.endUs + p.tolUs) {
      throw new ScriptFail(p.ev.line, `timing: expected system call return at ${secs(p.endUs)} sec, actual ${secs(now)} sec (tolerance ${secs(p.tolUs)} sec)`);
    }
  }

  /** waits for the blocking call in flight (up to its end time plus tolerance) */
  private waitPending(): void {
    const p = this.pending!;
    const limit = p.endUs + p.tolUs;
    while (this.pending !== null && this.step(limit)) {
      /* run */
    }
    if (this.pending !== null) {
      throw new ScriptFail(p.ev.line, `timing: expected system call return at ${secs(p.endUs)} sec, but it was still blocked at ${secs(limit)} sec`);
    }
  }

  // ---- system calls ----

  private syscall(ev: ScriptEvent, b: SyscallEvent, t: number, base: number): void {
    if (this.pending !== null) {
      this.advance(t);
      if (this.pending !== null) this.waitPending();
    }
    this.advance(t);
    const call = prepareCall(b, ev.line, this);
    const tol = this.tolerance(t);
    const bend = ev.time.blockEnd;
    const r = call.attempt();
    if (bend === undefined) {
      if (r === PENDING) {
        // a line without `...` that blocks: it must still return within the tolerance
        const p: PendingCall = { ev, call, endUs: t, tolUs: tol };
        this.pending = p;
        this.waitPending();
      } else {
        this.checkResult(ev, call, r);
      }
      this.done(t, Math.max(t, this.now()));
      return;
    }
    // the end is measured from the same base as the start (`+0...0.100`: 100 ms after the base)
    const endUs = bend.kind === 'rel' || ev.time.kind === 'rel' ? base + bend.us : bend.us;
    const endTol = Math.max(this.tolUs, Math.floor(((endUs - t) * this.tolPct) / 100));
    if (r !== PENDING) {
      this.checkResult(ev, call, r);
      if (t < endUs - endTol || t > endUs + endTol) {
        throw new ScriptFail(ev.line, `timing: expected system call return at ${secs(endUs)} sec, actual ${secs(t)} sec (tolerance ${secs(endTol)} sec)`);
      }
      this.done(t, Math.max(t, this.now()));
      return;
    }
    this.pending = { ev, call, endUs, tolUs: endTol };
    this.done(t, Math.max(t, this.now()));
  }

  private checkResult(ev: ScriptEvent, call: Call, r: number): void {
    const b = ev.body as SyscallEvent;
    const res = b.result;
    if (res.t !== 'int') throw new ScriptSkip(ev.line, `${b.name}: non-numeric expected result`);
    const want = res.v;
    const show = (x: number): string => (x < 0 ? `-1 ${errnoSymbol(-x)}` : String(x));
    if (want < 0) {
      if (b.errno === null) {
        if (r >= 0) throw new ScriptFail(ev.line, `${b.name}: expected result ${want}, actual ${show(r)}`);
        return;
      }
      const en = errnoNumber(b.errno);
      if (en === undefined) throw new ScriptSkip(ev.line, `unknown errno ${b.errno}`);
      if (r !== -en) throw new ScriptFail(ev.line, `${b.name}: expected -1 ${b.errno}, actual ${show(r)}`);
      return;
    }
    if (call.newFd) {
      if (r < 0) throw new ScriptFail(ev.line, `${b.name}: expected a descriptor (${want}), actual ${show(r)}`);
      this.alias(want, r);
      if (b.name === 'socket' && this.sutFd < 0) this.sutFd = r;
    } else if (r !== want) {
      throw new ScriptFail(ev.line, `${b.name}: expected result ${want}, actual ${show(r)}`);
    }
    if (call.check !== undefined) {
      const e = call.check(r);
      if (e !== null) throw new ScriptFail(ev.line, `${b.name}: ${e}`);
    }
  }

  // ---- commands and snippets ----

  private command(line: number, cmd: string): void {
    const acts = interpretCommand(cmd, this.opts.dir);
    for (const a of acts) this.apply(line, a);
  }

  private timedCommand(ev: ScriptEvent, b: CommandEvent): void {
    this.command(ev.line, b.cmd);
  }

  private apply(line: number, a: ShellAction): void {
    switch (a.kind) {
      case 'unsupported':
        throw new ScriptSkip(line, a.reason);
      case 'noop':
        return;
      case 'proc-grep': {
        const lines = this.procNetTcp(a.files);
        if (!lines.some((l) => a.patterns.every((p) => l.includes(p)))) throw new ScriptFail(line, `command \`${a.text}\` found no line (exit status 1)`);
        return;
      }
      case 'file':
        if (a.size < 0) this.files.delete(a.path);
        else this.files.set(a.path, a.size);
        return;
      case 'offload':
        if (a.tso !== undefined) this.dev.tso = a.tso;
        if (a.gro !== undefined) this.dev.gro = a.gro;
        return;
      case 'sysctl': {
        const key = a.name.replace(/^net\.ipv4\./, '').replace(/^net\.core\./, 'core.');
        const prev = this.sysctls.get(key);
        this.sysctls.set(key, a.value);
        if (!this.setStackSysctl(key, a.value) && prev !== a.value) {
          // defaults.sh settings the stack has no knob for are the stack's own defaults or
          // a documented difference; per-script settings are worth naming in a failure
          if (a.fromScript) this.notes.push(`sysctl ${key}=${a.value} not applied (no such stack setting)`);
        }
        return;
      }
    }
  }

  /**
   * Sets a sysctl on the stack when its TCP exposes one by that name: `tcp.sysctl[key]`
   * (a number, a string, or a number array for `tcp_rmem`-style triples). → applied?
   */
  private setStackSysctl(key: string, value: string): boolean {
    const tcp = this.host.kernel.tcp as unknown as { sysctl?: Record<string, unknown> };
    const table = tcp.sysctl;
    if (table === undefined || table === null || typeof table !== 'object' || !(key in table)) return false;
    const cur = table[key];
    if (typeof cur === 'number') {
      const n = value.startsWith('0x') ? parseInt(value.slice(2), 16) : Number(value);
      if (!Number.isFinite(n)) return false;
      table[key] = n;
      return true;
    }
    if (Array.isArray(cur)) {
      const parts = value.trim().split(/\s+/).map(Number);
      if (parts.some((x) => !Number.isFinite(x))) return false;
      table[key] = parts;
      return true;
    }
    if (typeof cur === 'string') {
      table[key] = value;
      return true;
    }
    if (typeof cur === 'boolean') {
      table[key] = value !== '0';
      return true;
    }
    return false;
  }

  private code(ev: ScriptEvent, b: CodeEvent): void {
    const info = this.tcpInfo();
    const vars = this.pyVars;
    const env = {
      get: (n: string): PyVal | undefined => {
        if (vars.has(n)) return vars.get(n);
        if (n in PY_CONSTANTS) return PY_CONSTANTS[n];
        if (n.startsWith('tcpi_') && info !== null) return info.get(n.slice(5));
        return undefined;
      },
      set: (n: string, v: PyVal): void => {
        vars.set(n, v);
      },
      missing: (n: string): string | null => {
        if (!n.startsWith('tcpi_')) return null;
        if (info === null) return 'TCP_INFO of the socket under test is not available';
        return `TCP_INFO does not report ${n}`;
      },
    };
    try {
      runPython(b.code, env);
    } catch (e) {
      if (e instanceof PyAssertion) {
        if (this.assertFail === null) this.assertFail = new ScriptFail(ev.line, `${e.message}`);
        return;
      }
      if (e instanceof PyUnsupported) {
        if (/^TCP_INFO/.test(e.message)) {
          if (this.assertFail === null) this.assertFail = new ScriptFail(ev.line, e.message);
          return;
        }
        throw new ScriptSkip(ev.line, e.message);
      }
      throw e;
    }
  }

  /**
   * `/proc/net/tcp` and `/proc/net/tcp6` lines for the host's TCP sockets that have a descriptor:
   * `sl: local rem st` with Linux's hex encoding (IPv4 addresses as the little-endian word of
   * the network-order bytes, IPv6 as four such words, ports big-endian hex, state in hex).
   */
  private procNetTcp(files: string[]): string[] {
    const out: string[] = [];
    const hex = (n: number, w: number): string => n.toString(16).toUpperCase().padStart(w, '0');
    const word = (b: Uint8Array, o: number): string => hex(((b[o + 3]! << 24) | (b[o + 2]! << 16) | (b[o + 1]! << 8) | b[o]!) >>> 0, 8);
    const enc = (a: InetAddr, six: boolean): string => {
      const b = a.toBytes(!six);
      let t = '';
      for (let o = 0; o < b.length; o += 4) t += word(b, o);
      return t;
    };
    for (const [fd, f] of this.host.sys.files.entries()) {
      const s = this.host.sys.sock(fd);
      if (typeof s === 'number' || f !== s || s.type !== SOCK_STREAM) continue;
      const six = s.family === AF_INET6;
      if (!files.includes(six ? '/proc/net/tcp6' : '/proc/net/tcp')) continue;
      const info = this.tcpInfo(fd);
      const st = info?.get('state') ?? 0;
      const l = s.getsockname();
      const p = s.getpeername();
      const rem = typeof p === 'number' ? `${enc(six ? InetAddr.ANY6 : InetAddr.ANY4, six)}:0000` : `${enc(p.addr, six)}:${hex(p.port, 4)}`;
      out.push(`${String(out.length).padStart(4)}: ${enc(l.addr, six)}:${hex(l.port, 4)} ${rem} ${hex(st, 2)} `);
    }
    return out;
  }

  /** TCP_INFO of `fd` (default: the socket under test) as tcpi_* names without the prefix, or null */
  private tcpInfo(fd = this.sutFd): Map<string, number> | null {
    if (fd < 0) return null;
    const out = new SockOptVal();
    if (this.host.sys.getsockopt(fd, SOL_TCP, TCP_INFO, out) < 0) return null;
    const m = new Map<string, number>();
    if (out.bytes !== null && out.bytes.length >= 104) {
      const b = out.bytes;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (const [name, off, w] of TCP_INFO_LAYOUT) {
        if (off + w > b.length) continue;
        m.set(name, w === 1 ? b[off]! : w === 2 ? dv.getUint16(off, true) : w === 4 ? dv.getUint32(off, true) : Number(dv.getBigUint64(off, true)));
      }
      if (b.length > 6) {
        m.set('snd_wscale', b[6]! & 0xf);
        m.set('rcv_wscale', b[6]! >> 4);
      }
      return m;
    }
    const d = out.data;
    if (d === null || typeof d !== 'object') return null;
    const obj = d as Record<string, unknown>;
    for (const [name] of TCP_INFO_LAYOUT) {
      const camel = name.replace(/_([a-z])/g, (_x, c: string) => c.toUpperCase());
      const v = obj[camel] ?? obj[name];
      if (typeof v === 'number') m.set(name, v);
      else if (name === 'state' && typeof v === 'string' && v in TCP_STATE_NUMBERS) m.set(name, TCP_STATE_NUMBERS[v]!);
    }
    return m;
  }

  // ---- packets in ----

  private inbound(ev: ScriptEvent, b: PacketEvent): void {
    if (b.unsupported !== undefined) throw new ScriptSkip(ev.line, b.unsupported);
    if (b.icmp !== undefined) {
      this.inboundIcmp(ev, b);
      return;
    }
    const s = b.tcp!;
    const flags = flagBits(s.flags);
    if (flags === null) throw new ScriptSkip(ev.line, `TCP flags '${s.flags}' (AccECN)`);
    let c = this.conn;
    if ((flags & FLAG_SYN) !== 0 && (flags & FLAG_ACK) === 0) {
      // a SYN to a listening socket under test makes a new connection (with a new remote port);
      // otherwise it belongs to the current one (a retransmitted or simultaneous-open SYN)
      if (c === null || this.sut === 'listen') {
        c = this.newConn(BIND_PORT, this.nextRemotePort++, true);
        this.sut = 'conn';
      }
      c.remoteIsn = s.start;
      c.remoteSynSeen = true;
    } else if ((flags & FLAG_SYN) !== 0) {
      if (c === null) throw new ScriptFail(ev.line, 'inbound SYN-ACK but the stack sent no SYN');
      c.remoteIsn = s.start;
      c.remoteSynSeen = true;
    }
    if (c === null) throw new ScriptFail(ev.line, 'inbound segment before any connection exists');
    const conn = c;
    const seq = (flags & FLAG_SYN) !== 0 ? s.start : (conn.remoteIsn + s.start) >>> 0;
    let ack = 0;
    if ((flags & FLAG_ACK) !== 0) {
      if (conn.localIsn === null) throw new ScriptFail(ev.line, "inbound ACK before the stack's SYN was seen (its ISN is unknown)");
      ack = (conn.localIsn + (s.ack ?? 0)) >>> 0;
    } else if (s.ack !== undefined) {
      ack = s.ack;
    }
    let options: Uint8Array = new Uint8Array(0);
    if (s.options === 'any') throw new ScriptSkip(ev.line, 'inbound packet with <...> options');
    if (s.options !== null) {
      const enc = encodeOptions(s.options, {
        sackEdge: (v) => ((conn.localIsn ?? 0) + v) >>> 0,
        tsEcr: (e) => {
          if ((flags & FLAG_ACK) === 0) return e;
          const live = conn.tsVals.get(e);
          return live === undefined ? `unable to infer live TS ecr for script ecr ${e} (no outbound TS val ${e} seen)` : live;
        },
      });
      if (typeof enc === 'string') {
        if (enc.startsWith('unable')) throw new ScriptFail(ev.line, enc);
        throw new ScriptSkip(ev.line, enc);
      }
      options = enc;
    }
    this.injectTcp(b, s, {
      sport: conn.remotePort, dport: conn.localPort, seq, ack, flags, win: s.win ?? 0, urg: s.urg ?? 0, options, payloadLen: s.len,
    });
  }

  private newConn(localPort: number, remotePort: number, passive: boolean): Conn {
    const c: Conn = {
      localPort, remotePort, passive, remoteSynSeen: false, localIsn: null, remoteIsn: 0, tsVals: new Map(),
      tsTickUs: this.tsTickUs, tsBase: null,
    };
    this.conn = c;
    return c;
  }

  private ipFor(b: PacketEvent): IpFields {
    const ip = { ...this.ipIn };
    if (b.ip.tos !== undefined) ip.tos = b.ip.tos;
    if (b.ip.ecn !== undefined) ip.tos = (ip.tos & ~3) | ({ noecn: 0, ect1: 1, ect0: 2, ce: 3, ect01: 2 } as const)[b.ip.ecn];
    if (b.ip.ttl !== undefined) ip.ttl = b.ip.ttl;
    if (b.ip.flowlabel !== undefined) ip.flowlabel = b.ip.flowlabel;
    return ip;
  }

  private injectTcp(b: PacketEvent, _s: TcpSegSpec, f: Parameters<typeof buildTcp>[1]): void {
    const ip = this.ipFor(b);
    const hdr = (this.family === 4 ? 20 : 40) + 20 + f.options.length;
    const maxPiece = this.gsoMss > 0 ? this.gsoMss : this.mtu - hdr;
    if (f.payloadLen <= maxPiece) {
      this.inject(buildIp(ip, 6, buildTcp(ip, f)));
    } else {
      // larger than one frame: GSO-style pieces (PSH/FIN only on the last) that GRO merges back
      for (let off = 0; off < f.payloadLen; off += maxPiece) {
        const n = Math.min(maxPiece, f.payloadLen - off);
        const last = off + n >= f.payloadLen;
        const flags = last ? f.flags : f.flags & ~(FLAG_PSH | FLAG_FIN);
        const piece = { ...f, seq: (f.seq + off) >>> 0, flags: off > 0 ? flags & ~FLAG_CWR : flags, payloadLen: n };
        this.deliverFrame(buildIp(ip, 6, buildTcp(ip, piece)));
      }
      this.flushGro();
      this.retryPending();
    }
  }

  private inboundIcmp(ev: ScriptEvent, b: PacketEvent): void {
    const ic = b.icmp!;
    const c = this.conn;
    if (c === null || c.localIsn === null) throw new ScriptFail(ev.line, 'inbound ICMP before a connection exists');
    const tc = icmpTypeCode(this.family, ic.type, ic.code);
    if (typeof tc === 'string') throw new ScriptSkip(ev.line, tc);
    // the quoted packet: our segment to the remote, seq relative to our ISN
    const quotedTcp = buildTcp(this.ipOut, {
      sport: c.localPort, dport: c.remotePort, seq: (c.localIsn + (ic.quotedSeq ?? 0)) >>> 0, ack: 0, flags: FLAG_ACK, win: 0, urg: 0,
      options: new Uint8Array(0), payloadLen: ic.quotedLen ?? 0,
    });
    const quoted = buildIp(this.ipOut, 6, quotedTcp);
    this.inject(buildIcmpError(this.ipFor(b), tc[0], tc[1], ic.mtu ?? 0, quoted));
  }

  private deliverFrame(ipPkt: Uint8Array): void {
    const frame = ethFrame(this.dev.mac, REMOTE_MAC, this.family, ipPkt);
    const skb = this.host.kernel.skbs.alloc(frame.length, 0);
    if (skb === null) throw new Error('no memory for an inbound frame');
    skbPut(skb, frame.length);
    skb.buf.set(frame, skb.data);
    this.dev.receiveFrame(skb);
    skbFree(skb);
  }

  private flushGro(): void {
    for (const q of this.dev.rxQueues) this.dev.groFlush(q);
  }

  private inject(ipPkt: Uint8Array): void {
    this.deliverFrame(ipPkt);
    this.flushGro();
    this.retryPending();
  }

  // ---- packets out ----

  private belongs(p: LivePacket): boolean {
    if ((p.flags & FLAG_SYN) !== 0 && (p.flags & FLAG_ACK) === 0 && this.sut === 'connect') {
      // the connecting socket under test sent its SYN: that names the connection
      const c = this.conn;
      if (c === null || c.localPort !== p.sport || c.remotePort !== p.dport) this.newConn(p.sport, p.dport, false);
      this.sut = 'conn';
      return true;
    }
    const c = this.conn;
    return c !== null && p.sport === c.localPort && p.dport === c.remotePort;
  }

  /** the next live segment of the connection under test, running the stack up to `limit` */
  private nextLive(limit: number): LivePacket | null {
    for (;;) {
      const q = this.capture.queue;
      while (q.length > 0) {
        const p = q.shift()!;
        if (this.belongs(p)) return p;
      }
      if (!this.step(limit)) return null;
    }
  }

  private outbound(ev: ScriptEvent, b: PacketEvent, t: number, base: number): void {
    if (b.unsupported !== undefined) throw new ScriptSkip(ev.line, b.unsupported);
    if (b.icmp !== undefined) throw new ScriptSkip(ev.line, 'outbound ICMP lines');
    const s = b.tcp!;
    const tol = this.tolerance(t);
    let lo: number;
    let hi: number;
    let expectUs = t;
    if (ev.time.kind === 'any') {
      lo = 0;
      hi = Number.MAX_SAFE_INTEGER;
    } else if (ev.time.rangeEnd !== undefined) {
      const re = ev.time.rangeEnd;
      const end = re.kind === 'rel' || ev.time.kind === 'rel' ? base + re.us : re.us;
      lo = t - tol;
      hi = end + tol;
      expectUs = t;
    } else {
      lo = t - tol;
      hi = t + tol;
    }
    const gap = ev.time.kind === 'any' ? 10_000_000 : Math.max(0, t - this.lastUs);
    const timeout = ev.time.kind === 'any' ? this.now() + 60_000_000 : Math.max(hi, t + Math.floor(gap / 1e6) * 1e6 + 2_000_000);
    const first = this.nextLive(timeout);
    if (first === null) {
      throw new ScriptFail(ev.line, `expected ${describeSeg(s)} at ${secs(expectUs)} sec, actual: timed out waiting for a packet (${this.now() >= timeout ? `nothing by ${secs(timeout)} sec` : 'the stack went idle'})`);
    }
    const live = this.aggregate(first, s, hi);
    const err = matchTcp(s, b.ip, live, this.conn!, tol);
    if (err !== null) throw new ScriptFail(ev.line, `expected ${describeSeg(s)}: ${err} (actual ${describeLive(live, this.conn!, s)})`);
    if (first.t < lo || first.t > hi) {
      throw new ScriptFail(ev.line, `timing: expected outbound ${describeSeg(s)} at ${secs(expectUs)} sec, actual at ${secs(first.t)} sec (tolerance ${secs(tol)} sec)`);
    }
    this.done(t, first.t);
  }

  /**
   * packetdrill's aggregation: consecutive live segments (contiguous, equal sizes but the last,
   * agreeing headers) may together satisfy one expected line with a larger payload.
   */
  private aggregate(first: LivePacket, s: TcpSegSpec, hi: number): LivePacket {
    if (this.strict || first.payload.length === 0 || first.payload.length >= s.len) return first;
    const pieces = [first];
    let total = first.payload.length;
    const q = this.capture.queue;
    while (total < s.len) {
      const prev = pieces[pieces.length - 1]!;
      // the next segment of this connection, if it is already there or comes before `hi`
      let next: LivePacket | null = null;
      for (;;) {
        const k = q.findIndex((p) => p.sport === prev.sport && p.dport === prev.dport);
        if (k >= 0) {
          next = q[k]!;
          if (k > 0) q.splice(0, k);
          break;
        }
        q.length = 0;
        if (!this.step(hi)) break;
      }
      if (next === null) break;
      const cont =
        next.seq === ((prev.seq + prev.payload.length) >>> 0) && next.payload.length > 0 && next.payload.length <= prev.payload.length &&
        (pieces.length === 1 || prev.payload.length === pieces[pieces.length - 2]!.payload.length) &&
        next.ack === prev.ack && next.win === prev.win && (next.flags & ~(FLAG_PSH | FLAG_FIN | FLAG_CWR)) === (prev.flags & ~(FLAG_PSH | FLAG_FIN | FLAG_CWR)) &&
        next.options.length === prev.options.length && total + next.payload.length <= s.len;
      if (!cont) break;
      q.shift();
      pieces.push(next);
      total += next.payload.length;
    }
    if (pieces.length === 1) return first;
    const last = pieces[pieces.length - 1]!;
    const payload = new Uint8Array(total);
    let off = 0;
    for (const p of pieces) {
      payload.set(p.payload, off);
      off += p.payload.length;
    }
    return { ...last, t: first.t, seq: first.seq, flags: (last.flags & ~FLAG_CWR) | (first.flags & FLAG_CWR), payload };
  }
}

function describeSeg(s: TcpSegSpec): string {
  return `${s.flags === '' ? '-' : s.flags} ${s.start}:${s.end}(${s.len})${s.ack !== undefined ? ` ack ${s.ack}` : ''}${s.win !== undefined ? ` win ${s.win}` : ''}`;
}

function describeLive(p: LivePacket, c: MatchConn, exp: TcpSegSpec): string {
  // a SYN defines the ISN: its own sequence number is the script's by definition
  const seq = (p.flags & FLAG_SYN) !== 0 ? exp.start : c.localIsn === null ? p.seq : (p.seq - c.localIsn) >>> 0;
  const ack = (p.ack - c.remoteIsn) >>> 0;
  const flags = flagStr(p.flags);
  return `${flags} ${seq}:${(seq + p.payload.length) >>> 0}(${p.payload.length})${p.flags & FLAG_ACK ? ` ack ${ack}` : ''} win ${p.win}`;
}

function flagStr(f: number): string {
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x40) s += 'E';
  if (f & 0x80) s += 'W';
  if (f & 0x10) s += '.';
  return s === '' ? '-' : s;
}

/** ICMP type and code numbers for a script's words, or a reason */
function icmpTypeCode(family: 4 | 6, type: string, code: string | null): [number, number] | string {
  if (family === 4) {
    const codes: Record<string, number> = {
      net_unreachable: 0, host_unreachable: 1, protocol_unreachable: 2, port_unreachable: 3, frag_needed: 4,
      source_route_failed: 5, net_unknown: 6, host_unknown: 7, source_host_isolated: 8, net_prohibited: 9,
      host_prohibited: 10, net_unreachable_for_tos: 11, host_unreachable_for_tos: 12, packet_filtered: 13,
    };
    if (type === 'unreachable') {
      const c = code === null ? 0 : codes[code];
      return c === undefined ? `ICMP code ${code}` : [3, c];
    }
    if (type === 'time_exceeded') return [11, code === 'fragment_reassembly_time_exceeded' ? 1 : 0];
    return `ICMP type ${type}`;
  }
  const codes6: Record<string, number> = {
    no_route: 0, admin_prohibited: 1, beyond_scope: 2, address_unreachable: 3, port_unreachable: 4,
  };
  if (type === 'unreachable') {
    const c = code === null ? 0 : codes6[code];
    return c === undefined ? `ICMPv6 code ${code}` : [1, c];
  }
  if (type === 'packet_too_big') return [2, 0];
  if (type === 'time_exceeded') return [3, 0];
  if (type === 'parameter_problem') return [4, 0];
  return `ICMPv6 type ${type}`;
}
