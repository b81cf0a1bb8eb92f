// Test helpers for the TAP link tests (not a test file): whether this machine can run them, a
// network namespace the test creates and always deletes, and `StubPeer`, a minimal userspace
// host on a FrameLink that answers ARP, ICMP echo, UDP echo (:7) and one in-order-only TCP
// connection (SYN-ACK, cumulative ACKs, optional GSO super-frame out, FIN), verifying what it
// receives: the TCP byte stream must follow the pattern byte(k) = k % 251.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { FrameLink, FrameMeta, LinkReceiver } from '../../src/link/frame-link.js';

const execFileP = promisify(execFile);

/** why the TAP tests cannot run here, or null */
export function tapSkipReason(): string | null {
  if (process.platform !== 'linux') return 'TAP tests need Linux';
  if (process.getuid?.() !== 0) return 'TAP tests need root (CAP_NET_ADMIN): skipped';
  if (!existsSync('/dev/net/tun')) return 'TAP tests need /dev/net/tun: skipped';
  if (!existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip') && !existsSync('/usr/bin/ip')) return 'TAP tests need iproute2 (ip): skipped';
  return null;
}

/** skip option for describe(): under CI a missing prerequisite is a failure, not a skip */
export function tapSkip(): string | false {
  const why = tapSkipReason();
  if (why && process.env.CI) throw new Error(`CI must run the TAP tests: ${why}`);
  return why ?? false;
}

/** the system python (a pyenv shim takes seconds to start on a loaded machine) */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let seq = 0;
/** a unique short tag for interface names (≤ 15 bytes with a 4-byte prefix) */
export function uniqueTag(): string {
  seq++;
  return `${(process.pid % 100000).toString(36)}x${seq.toString(36)}`;
}

/** namespaces made by this process are `tapt-<pid>-<n>` */
export const NETNS_PREFIX = `tapt-${process.pid}-`;

/** deletes `tapt-<pid>-*` namespaces whose process is gone (a run killed before its teardown) */
export async function sweepStaleNetns(): Promise<string[]> {
  const gone: string[] = [];
  for (const line of (await sh('ip', ['netns', 'list'])).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^tapt-(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    await sh('ip', ['netns', 'del', name]).catch(() => undefined);
    gone.push(name);
  }
  return gone;
}

export async function sh(cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  const { stdout } = await execFileP(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

export class TestNetns {
  private constructor(readonly name: string) {}

  /** a fresh namespace with lo up; IPv6 off unless asked for (no MLD / RS noise) */
  static async create(opts: { ipv6?: boolean } = {}): Promise<TestNetns> {
    seq++;
    const ns = new TestNetns(`${NETNS_PREFIX}${seq}`);
    await sh('ip', ['netns', 'add', ns.name]);
    try {
      if (!opts.ipv6) await ns.exec(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      await sh('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    } catch (e) {
      await ns.destroy();
      throw e;
    }
    return ns;
  }

  /** moves `dev` (in our namespace) into this one, addresses and raises it */
  async adopt(dev: string, cidr: string, mtu?: number): Promise<void> {
    await sh('ip', ['link', 'set', dev, 'netns', this.name]);
    await sh('ip', ['-n', this.name, 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
    await sh('ip', ['-n', this.name, 'link', 'set', dev, ...(mtu ? ['mtu', String(mtu)] : []), 'up']);
  }

  exec(argv: string[], timeoutMs = 20_000): Promise<string> {
    return sh('ip', ['netns', 'exec', this.name, ...argv], timeoutMs);
  }

  python(script: string, args: string[], timeoutMs = 20_000): Promise<string> {
    return this.exec([PYTHON, '-c', script, ...args], timeoutMs);
  }

  async destroy(): Promise<void> {
    await sh('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }

  static async exists(name: string): Promise<boolean> {
    return (await sh('ip', ['netns', 'list'])).split('\n').some((l) => l.split(' ')[0] === name);
  }
}

/** the pattern the TCP tests send: byte k of a stream is k % 251 */
export function patternByte(k: number): number {
  return k % 251;
}

export function ipv4(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function sum16(b: Uint8Array, off: number, len: number, acc: number): number {
  let i = 0;
  for (; i + 1 < len; i += 2) acc += (b[off + i]! << 8) | b[off + i + 1]!;
  if (i < len) acc += b[off + i]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

function pseudo(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

export interface RxRecord {
  len: number;
  meta: FrameMeta | null;
  queue: number | undefined;
  ethType: number;
  proto: number;
  sport: number;
  dport: number;
}

export interface TcpPlan {
  port: number;
  /** bytes we send right after the handshake as ONE GSO super-frame (pattern bytes) */
  sendOnConnect: number;
  gsoSize: number;
}

const IP_HLEN = 20;

/** A minimal host behind a FrameLink; see the file comment. */
export class StubPeer implements LinkReceiver {
  readonly records: RxRecord[] = [];
  flushes = 0;
  drains = 0;
  readonly errors: Error[] = [];
  arpReplies = 0;
  icmpReplies = 0;
  udpEchoes = 0;
  badCsum = 0;
  /** UDP echo: the queue our reply for a source port was written on, by the link's choice */
  readonly udpReplyFrames = new Map<number, Uint8Array>();
  // TCP toy state
  tcpIn = 0;
  tcpPatternErrors = 0;
  tcpFinSeen = false;
  tcpOutOfOrder = 0;
  private rcvNxt = 0;
  private sndNxt = 0;
  private peerPort = 0;
  private established = false;
  private readonly tx = new Uint8Array(70_000);
  private readonly dv = new DataView(this.tx.buffer);
  closed = false;
  /** check every received TCP byte against the pattern (off for rate measurements) */
  verifyPattern = true;

  constructor(readonly link: FrameLink, readonly mac: Uint8Array, readonly ip: number, readonly tcp: TcpPlan | null = null) {}

  receive(frame: Uint8Array, meta?: FrameMeta | null, queue?: number): void {
    if (this.closed) throw new Error('receive after close');
    const ethType = (frame[12]! << 8) | frame[13]!;
    const rec: RxRecord = { len: frame.length, meta: meta ? { ...meta } : null, queue, ethType, proto: 0, sport: 0, dport: 0 };
    this.records.push(rec);
    if (ethType === 0x0806) return this.arp(frame);
    if (ethType !== 0x0800 || frame.length < 34) return;
    const dvIn = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const ihl = (frame[14]! & 15) * 4;
    const proto = frame[23]!;
    const totLen = dvIn.getUint16(16) || frame.length - 14;
    const src = dvIn.getUint32(26);
    const dst = dvIn.getUint32(30);
    if (dst !== this.ip) return;
    rec.proto = proto;
    const l4 = 14 + ihl;
    const l4len = totLen - ihl;
    if (proto === 6 || proto === 17) {
      rec.sport = dvIn.getUint16(l4);
      rec.dport = dvIn.getUint16(l4 + 2);
      if (!meta?.needsCsum && !meta?.dataValid && fold(sum16(frame, l4, l4len, pseudo(src, dst, proto, l4len))) !== 0xffff) this.badCsum++;
    }
    if (proto === 1 && frame[l4] === 8) return this.icmpEcho(frame, l4, l4len, src);
    if (proto === 17 && rec.dport === 7) return this.udpEcho(frame, l4, l4len, src, rec.sport);
    if (proto === 6 && this.tcp && rec.dport === this.tcp.port) return this.tcpIn4(frame, dvIn, l4, l4len, src, rec.sport, meta ?? null);
  }

  flush(): void { this.flushes++; }
  drain(): void { this.drains++; }
  error(err: Error): void { this.errors.push(err); }

  private eth(dstMac: Uint8Array, type: number): void {
    this.tx.set(dstMac, 0);
    this.tx.set(this.mac, 6);
    this.dv.setUint16(12, type);
  }

  private ip4(dst: number, proto: number, l4len: number): void {
    const o = 14;
    this.tx.fill(0, o, o + IP_HLEN);
    this.tx[o] = 0x45;
    this.dv.setUint16(o + 2, IP_HLEN + l4len);
    this.dv.setUint16(o + 6, 0x4000);
    this.tx[o + 8] = 64;
    this.tx[o + 9] = proto;
    this.dv.setUint32(o + 12, this.ip);
    this.dv.setUint32(o + 16, dst);
    this.dv.setUint16(o + 10, ~fold(sum16(this.tx, o, IP_HLEN, 0)) & 0xffff);
  }

  private arp(f: Uint8Array): void {
    const d = new DataView(f.buffer, f.byteOffset, f.byteLength);
    if (f.length < 42 || d.getUint16(20) !== 1 || d.getUint32(38) !== this.ip) return;
    this.eth(f.subarray(6, 12), 0x0806);
    this.dv.setUint32(14, 0x00010800);
    this.dv.setUint16(18, 0x0604);
    this.dv.setUint16(20, 2);
    this.tx.set(this.mac, 22);
    this.dv.setUint32(28, this.ip);
    this.tx.set(f.subarray(22, 32), 32); // sender hw + ip become target
    this.arpReplies++;
    this.link.send(this.tx.subarray(0, 42), null);
  }

  private icmpEcho(f: Uint8Array, l4: number, len: number, src: number): void {
    this.eth(f.subarray(6, 12), 0x0800);
    this.ip4(src, 1, len);
    this.tx.set(f.subarray(l4, l4 + len), 34);
    this.tx[34] = 0;
    this.dv.setUint16(36, 0);
    this.dv.setUint16(36, ~fold(sum16(this.tx, 34, len, 0)) & 0xffff);
    this.icmpReplies++;
    this.link.send(this.tx.subarray(0, 34 + len), null);
  }

  /** echoes with a partial checksum (NEEDS_CSUM): the kernel must accept our vnet header */
  private udpEcho(f: Uint8Array, l4: number, len: number, src: number, sport: number): void {
    this.eth(f.subarray(6, 12), 0x0800);
    this.ip4(src, 17, len);
    this.tx.set(f.subarray(l4, l4 + len), 34);
    this.dv.setUint16(34, 7);
    this.dv.setUint16(36, sport);
    this.dv.setUint16(40, fold(pseudo(this.ip, src, 17, len)));
    this.udpEchoes++;
    const frame = this.tx.subarray(0, 34 + len);
    this.udpReplyFrames.set(sport, frame.slice());
    this.link.send(frame, { gsoType: 'none', hdrLen: 0, gsoSize: 0, needsCsum: true, csumStart: 34, csumOffset: 6, dataValid: false });
  }

  private tcpIn4(f: Uint8Array, d: DataView, l4: number, l4len: number, src: number, sport: number, _meta: FrameMeta | null): void {
    const seq = d.getUint32(l4 + 4);
    const flags = f[l4 + 13]!;
    const doff = (f[l4 + 12]! >> 4) * 4;
    const plen = l4len - doff;
    const dstMac = f.subarray(6, 12);
    if (flags & 0x04) return; // RST
    if (flags & 0x02) { // SYN
      this.peerPort = sport;
      this.rcvNxt = (seq + 1) >>> 0;
      this.sndNxt = 1000;
      this.tcpOut(dstMac, src, 0x12, 0, 0, null, true);
      this.sndNxt = 1001;
      return;
    }
    if (sport !== this.peerPort) return;
    if (!this.established && (flags & 0x10)) {
      this.established = true;
      const n = this.tcp!.sendOnConnect;
      if (n > 0) {
        const p = 14 + IP_HLEN + 20;
        for (let k = 0; k < n; k++) this.tx[p + k] = patternByte(k);
        const meta: FrameMeta = { gsoType: n > this.tcp!.gsoSize ? 'tcpv4' : 'none', hdrLen: p, gsoSize: n > this.tcp!.gsoSize ? this.tcp!.gsoSize : 0,
          needsCsum: true, csumStart: 14 + IP_HLEN, csumOffset: 16, dataValid: false };
        this.tcpOut(dstMac, src, 0x18, n, 0, meta, false);
        this.sndNxt = (this.sndNxt + n) >>> 0;
      }
    }
    if (plen > 0) {
      if (seq === this.rcvNxt) {
        if (this.verifyPattern) for (let k = 0; k < plen; k++) if (f[l4 + doff + k] !== patternByte(this.tcpIn + k)) this.tcpPatternErrors++;
        this.tcpIn += plen;
        this.rcvNxt = (this.rcvNxt + plen) >>> 0;
      } else {
        this.tcpOutOfOrder++;
      }
    }
    if ((flags & 0x01) && ((seq + plen) >>> 0) === this.rcvNxt) {
      this.tcpFinSeen = true;
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      this.tcpOut(dstMac, src, 0x11, 0, 0, null, false);
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      return;
    }
    if (plen > 0) this.tcpOut(dstMac, src, 0x10, 0, 0, null, false);
  }

  /** one TCP segment; the payload (if any) is already at the payload offset of `tx` */
  private tcpOut(dstMac: Uint8Array, dst: number, flags: number, plen: number, _x: number, meta: FrameMeta | null, syn: boolean): void {
    const o = 14 + IP_HLEN;
    const hlen = syn ? 28 : 20;
    if (syn) this.tx.copyWithin(o + hlen, o + 20, o + 20 + plen);
    this.eth(dstMac, 0x0800);
    this.ip4(dst, 6, hlen + plen);
    this.dv.setUint16(o, this.tcp!.port);
    this.dv.setUint16(o + 2, this.peerPort);
    this.dv.setUint32(o + 4, this.sndNxt);
    this.dv.setUint32(o + 8, this.rcvNxt);
    this.tx[o + 12] = (hlen / 4) << 4;
    this.tx[o + 13] = flags;
    this.dv.setUint16(o + 14, 65535);
    this.dv.setUint16(o + 16, 0);
    this.dv.setUint16(o + 18, 0);
    if (syn) {
      this.dv.setUint32(o + 20, 0x020405b4); // MSS 1460
      this.dv.setUint32(o + 24, 0x01030307); // NOP, WS 7
    }
    const l4len = hlen + plen;
    const ps = pseudo(this.ip, dst, 6, l4len);
    if (meta?.needsCsum) this.dv.setUint16(o + 16, fold(ps));
    else this.dv.setUint16(o + 16, ~fold(sum16(this.tx, o, l4len, ps)) & 0xffff);
    this.link.send(this.tx.subarray(0, o + l4len), meta);
  }
}

/** waits until `cond()` holds, polling every 10 ms; rejects after `ms` */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
