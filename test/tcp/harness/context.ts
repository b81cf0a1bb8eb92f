/**
 * The TCP segment-level test context (like gVisor's tcp/testing/context; not a test file).
 *
 * One stack (`Host`, virtual time) with a test device `eth0` whose link is the test itself:
 * `inject(spec)` hands a frame built from a `SegSpec` (valid checksums) to the NIC, and every
 * TCP segment the stack transmits is parsed into a queue that `expect(...checkers)` pops (running
 * virtual time until the next segment or a timeout, then failing with expected vs actual).
 * Applications use the syscall layer (`host.sys`, non-blocking fds). `Conn` tracks the remote
 * end's sequence space so that tests write `c.send({ payload: 100 })` and `c.expectData(100)`.
 * State helpers reach SYN-SENT, SYN-RECV, ESTABLISHED (both ways), FIN-WAIT-1/2, CLOSING,
 * TIME-WAIT, CLOSE-WAIT and LAST-ACK through those same surfaces.
 *
 * Addresses: stack 10.0.0.2 / fd00::2, remote (the test) 10.0.0.1 / fd00::1, static neighbours,
 * GRO off (segments arrive one by one, as injected).
 */
import assert from 'node:assert/strict';
import { constants as C, ERRNO, Network, type Host, type NetDevice } from '../../../src/index.js';
import { InetAddr } from '../../../src/inet/index.js';
import type { LinkPort } from '../../../src/netdev/index.js';
import { skbCopyBits, skbFree, type SkBuff } from '../../../src/skb/index.js';
import type { SockAddr } from '../../../src/socket/index.js';
import type { TcpSock } from '../../../src/tcp/index.js';
import type { VirtualScheduler } from '../../../src/time/index.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../src/wire/tcp.js';
import { ackNum, dstPort, flags, runCheckers, seqNum, srcPort, type Checker } from './checkers.js';
import { stateName, tcpSockOf } from './probe.js';
import { buildFrame, parseFrame, segToString, type OptSpec, type Seg, type SegSpec } from './segment.js';

export const STACK_MAC = 0x020000000002;
export const REMOTE_MAC = 0x020000000001;
export const STACK_PORT = 8080;
export const REMOTE_PORT = 40000;
/** the remote's ISN unless a test picks one */
export const REMOTE_ISS = 0x10000000;
/** how long `expect` waits for the next segment by default (virtual µs) */
export const EXPECT_WAIT = 5_000_000;
/** events one virtual instant may run before the harness calls it a storm (a timer re-armed for now) */
export const STORM_EVENTS = 100_000;

export interface ContextOptions {
  family?: 4 | 6;
  seed?: number;
  mtu?: number;
}

/** the link of the test device: captures what the stack transmits */
class CaptureLink implements LinkPort {
  private buf = new Uint8Array(70_000);

  constructor(private readonly ctx: TcpTestContext) {}

  transmit(skb: SkBuff): void {
    const n = skb.len;
    if (this.buf.length < n) this.buf = new Uint8Array(n);
    const ok = skbCopyBits(skb, 0, this.buf, 0, n) === 0;
    skbFree(skb);
    if (ok) this.ctx.captured(this.buf.subarray(0, n));
  }
}

export class TcpTestContext {
  readonly net: Network;
  readonly host: Host;
  readonly dev: NetDevice;
  readonly family: 4 | 6;
  readonly stackAddr: InetAddr;
  readonly remoteAddr: InetAddr;
  /** every TCP segment the stack transmitted, in order */
  readonly sent: Seg[] = [];
  /** frames transmitted that are not TCP (ARP, NDP, MLD, ICMP) */
  otherFrames = 0;
  private queue: Seg[] = [];
  private readonly sched: VirtualScheduler;

  constructor(opts: ContextOptions = {}) {
    this.family = opts.family ?? 4;
    this.net = new Network({ seed: opts.seed ?? 1 });
    this.sched = this.net.sched as VirtualScheduler;
    this.host = this.net.addHost('stack');
    this.dev = this.host.addDevice('eth0', { rxQueues: 1, mtu: opts.mtu ?? 1500, mac: STACK_MAC });
    this.dev.gro = false;
    this.dev.link = new CaptureLink(this);
    if (this.family === 4) {
      this.stackAddr = InetAddr.parse('10.0.0.2');
      this.remoteAddr = InetAddr.parse('10.0.0.1');
      this.host.ip.addAddress('eth0', '10.0.0.2/24');
      this.host.ip.addNeighbour('eth0', '10.0.0.1', REMOTE_MAC);
    } else {
      this.stackAddr = InetAddr.parse('fd00::2');
      this.remoteAddr = InetAddr.parse('fd00::1');
      this.host.ip.addAddress('eth0', 'fd00::2/64', { nodad: true });
      this.host.ip.addNeighbour('eth0', 'fd00::1', REMOTE_MAC);
    }
  }

  /** @internal the capture link's entry */
  captured(frame: Uint8Array): void {
    const s = parseFrame(frame, this.sched.now());
    if (s === null) {
      this.otherFrames++;
      return;
    }
    this.sent.push(s);
    this.queue.push(s);
  }

  get now(): number {
    return this.sched.now();
  }

  close(): void {
    this.net.close();
  }

  // ---- the wire ----

  /** hands a frame for `spec` (remote → stack; ports default to REMOTE_PORT → STACK_PORT) to the NIC */
  inject(spec: SegSpec): void {
    const frame = buildFrame(
      { family: this.family, srcMac: REMOTE_MAC, dstMac: STACK_MAC, src: this.remoteAddr, dst: this.stackAddr },
      { ...spec, sport: spec.sport ?? REMOTE_PORT, dport: spec.dport ?? STACK_PORT },
    );
    this.injectFrame(frame);
  }

  /** hands any frame bytes to the NIC (the NIC copies them) */
  injectFrame(frame: Uint8Array): void {
    const buf = frame.slice();
    const skb = this.host.kernel.skbs.wrap(buf, new DataView(buf.buffer));
    this.dev.receiveFrame(skb);
    skbFree(skb);
  }

  /** runs virtual time for `us`; throws on an event storm (STORM_EVENTS at one instant) */
  run(us: number): void {
    const end = this.sched.now() + us;
    while (this.step(end)) { /* run */ }
    this.sched.advanceTo(Math.max(end, this.sched.now()));
  }

  private stormAt = -1;
  private stormEvents = 0;

  /** one event up to `end`; counts events per virtual instant and fails on a storm */
  private step(end: number): boolean {
    if (!this.sched.step(end)) return false;
    const now = this.sched.now();
    if (now !== this.stormAt) {
      this.stormAt = now;
      this.stormEvents = 0;
    } else if (++this.stormEvents >= STORM_EVENTS) {
      const last = this.sent.slice(-3).map((x) => segToString(x)).join(' | ');
      throw new Error(`event storm: ${STORM_EVENTS} events at ${now} µs without time passing; last sent: ${last}`);
    }
    return true;
  }

  /** runs events until a segment is queued or `deadline` (absolute µs); true if one is */
  private waitSegment(deadline: number): boolean {
    while (this.queue.length === 0) {
      if (!this.step(deadline)) {
        this.sched.advanceTo(Math.max(deadline, this.sched.now()));
        return this.queue.length > 0;
      }
    }
    return true;
  }

  /** segments sent and not yet expected */
  get pending(): readonly Seg[] {
    return this.queue;
  }

  /** takes every queued segment */
  drain(): Seg[] {
    return this.queue.splice(0);
  }

  /**
   * Pops the next segment the stack sends (running virtual time up to `waitUs`) and asserts the
   * checkers and its checksums; fails with every mismatch and the segment.
   */
  expectWithin(waitUs: number, ...checkers: Checker[]): Seg {
    if (!this.waitSegment(this.now + waitUs)) {
      assert.fail(`expected a segment within ${waitUs} µs, none sent (now ${this.now} µs)`);
    }
    const s = this.queue.shift()!;
    const err = runCheckers(s, checkers);
    const csum = s.csumErrors.length > 0 ? s.csumErrors.join('; ') : null;
    if (err !== null || csum !== null) {
      assert.fail(`segment at ${s.t} µs: ${[err, csum].filter((x) => x !== null).join('; ')}\n  actual: ${segToString(s)}`);
    }
    return s;
  }

  expect(...checkers: Checker[]): Seg {
    return this.expectWithin(EXPECT_WAIT, ...checkers);
  }

  /** runs `us` of virtual time and asserts the stack sent no TCP segment (noMoreSegments) */
  expectNone(us = 1_000_000, what = ''): void {
    if (this.queue.length === 0) this.run(us);
    if (this.queue.length > 0) {
      assert.fail(`${what ? what + ': ' : ''}expected no segment, got ${this.queue.length}: ${this.queue.map((s) => `${segToString(s)} @${s.t}`).join(' | ')}`);
    }
  }

  /** segments sent in [t0, t1) µs */
  sentBetween(t0: number, t1: number): Seg[] {
    return this.sent.filter((s) => s.t >= t0 && s.t < t1);
  }

  // ---- the application (syscalls) ----

  sockaddr(addr: InetAddr, port: number): SockAddr {
    return this.family === 4 ? { family: C.AF_INET, addr, port } : { family: C.AF_INET6, addr, port, flowinfo: 0, scopeId: 0 };
  }

  /** a non-blocking TCP socket */
  socket(): number {
    const fd = this.host.sys.socket(this.family === 4 ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
    assert.ok(fd >= 0, `socket: ${fd}`);
    return fd;
  }

  /** a listener on STACK_PORT (or `port`) */
  listen(port = STACK_PORT, backlog = 128): number {
    const fd = this.socket();
    assert.equal(this.host.sys.bind(fd, this.sockaddr(this.family === 4 ? InetAddr.ANY4 : InetAddr.ANY6, port)), 0, 'bind');
    assert.equal(this.host.sys.listen(fd, backlog), 0, 'listen');
    return fd;
  }

  tp(fd: number): TcpSock {
    return tcpSockOf(this.host, fd);
  }

  state(fd: number): string {
    return stateName(this.tp(fd));
  }

  /** writes bytes; returns the count or -errno */
  write(fd: number, data: Uint8Array): number {
    return this.host.sys.send(fd, data);
  }

  /** reads what is there (up to `max`); -errno (EAGAIN) when nothing */
  read(fd: number, max = 1 << 20): Uint8Array | number {
    const b = new Uint8Array(max);
    const n = this.host.sys.recv(fd, b);
    return n < 0 ? n : b.slice(0, n);
  }

  // ---- reaching states ----

  /**
   * Passive open: a listener (unless `lfd` is given), the remote's SYN, the stack's SYN-ACK, the
   * remote's ACK, accept. Returns the established connection.
   */
  passiveOpen(o: { lfd?: number; rport?: number; iss?: number; synOptions?: OptSpec; window?: number } = {}): Conn {
    const c = this.synRecv(o);
    c.send({ flags: TCP_ACK });
    const fd = this.host.sys.accept4(c.lfd, null, C.SOCK_NONBLOCK);
    assert.ok(fd >= 0, `accept4: ${fd}`);
    c.fd = fd;
    c.tp = this.tp(fd);
    assert.equal(stateName(c.tp), 'ESTABLISHED');
    return c;
  }

  /** Passive open up to SYN-RECV: the remote's SYN and the stack's SYN-ACK (checked) */
  synRecv(o: { lfd?: number; rport?: number; iss?: number; synOptions?: OptSpec; window?: number } = {}): Conn {
    const lfd = o.lfd ?? this.listen();
    const rport = o.rport ?? REMOTE_PORT;
    const iss = o.iss ?? REMOTE_ISS;
    this.inject({ flags: TCP_SYN, seq: iss, sport: rport, options: o.synOptions ?? { mss: 1460, wscale: 7 }, window: o.window ?? 65535 });
    const sa = this.expect(flags(TCP_SYN | TCP_ACK), ackNum(iss + 1), srcPort(STACK_PORT), dstPort(rport));
    const c = new Conn(this, -1, STACK_PORT, rport, (iss + 1) >>> 0, (sa.seq + 1) >>> 0);
    c.lfd = lfd;
    c.stackIss = sa.seq;
    c.remoteIss = iss;
    c.synAck = sa;
    c.tp = this.host.kernel.tcp.demux.lookupEstablished(this.stackAddr, STACK_PORT, this.remoteAddr, rport);
    return c;
  }

  /** Active open up to SYN-SENT: connect and the stack's SYN (checked) */
  synSent(o: { rport?: number } = {}): Conn {
    const fd = this.socket();
    const rport = o.rport ?? REMOTE_PORT;
    assert.equal(this.host.sys.connect(fd, this.sockaddr(this.remoteAddr, rport)), -ERRNO.EINPROGRESS, 'connect');
    const syn = this.expect(flags(TCP_SYN), ackNum(0), dstPort(rport));
    const c = new Conn(this, fd, syn.sport, rport, REMOTE_ISS, (syn.seq + 1) >>> 0);
    c.stackIss = syn.seq;
    c.syn = syn;
    c.tp = this.tp(fd);
    assert.equal(stateName(c.tp), 'SYN_SENT');
    return c;
  }

  /** Active open: SYN-SENT, the remote's SYN-ACK, the stack's ACK */
  activeOpen(o: { rport?: number; iss?: number; synAckOptions?: OptSpec; window?: number } = {}): Conn {
    const c = this.synSent(o);
    const iss = o.iss ?? REMOTE_ISS;
    c.remoteIss = iss;
    c.sndNxt = iss;
    c.send({ flags: TCP_SYN | TCP_ACK, options: o.synAckOptions ?? { mss: 1460, wscale: 7 }, window: o.window ?? 65535 });
    c.expect(flags(TCP_ACK), seqNum(c.rcvNxt), ackNum(c.sndNxt));
    assert.equal(stateName(c.tp!), 'ESTABLISHED');
    return c;
  }
}

/** one connection seen from the remote end */
export class Conn {
  /** the listener it came from (passive opens) */
  lfd = -1;
  stackIss = 0;
  remoteIss = 0;
  /** the stack's SYN (active) or SYN-ACK (passive) */
  syn: Seg | null = null;
  synAck: Seg | null = null;
  /** the stack's socket (SYN-RECV children have no fd yet) */
  tp: TcpSock | null = null;
  /** window the remote advertises (raw 16-bit field) */
  window = 65535;

  constructor(
    readonly ctx: TcpTestContext,
    public fd: number,
    /** the stack's port */
    readonly lport: number,
    /** the remote's port */
    readonly rport: number,
    /** the remote's next sequence number */
    public sndNxt: number,
    /** the next sequence number the remote expects from the stack */
    public rcvNxt: number,
  ) {}

  /** a segment of this connection: remote → stack, seq/ack/window from the tracked state */
  seg(s: Partial<SegSpec> = {}): SegSpec {
    return {
      flags: TCP_ACK, seq: this.sndNxt, ack: this.rcvNxt, window: this.window, ...s,
      sport: this.rport, dport: this.lport,
    };
  }

  /** injects a segment and advances sndNxt by what it occupies (payload, SYN, FIN) */
  send(s: Partial<SegSpec> = {}): void {
    const spec = this.seg(s);
    this.ctx.inject(spec);
    const len = typeof spec.payload === 'number' ? spec.payload : (spec.payload?.length ?? 0);
    if (spec.flags & TCP_RST) return;
    this.sndNxt = (spec.seq + len + (spec.flags & TCP_SYN ? 1 : 0) + (spec.flags & TCP_FIN ? 1 : 0)) >>> 0;
  }

  /** injects a segment without touching the tracked state (forged / out-of-window segments) */
  forge(s: Partial<SegSpec>): void {
    this.ctx.inject(this.seg(s));
  }

  /** the next segment of this connection's ports (others fail) */
  expect(...checkers: Checker[]): Seg {
    return this.ctx.expect(srcPort(this.lport), dstPort(this.rport), ...checkers);
  }

  expectWithin(us: number, ...checkers: Checker[]): Seg {
    return this.ctx.expectWithin(us, srcPort(this.lport), dstPort(this.rport), ...checkers);
  }

  /** the next segment carries `len` bytes at rcvNxt; advances rcvNxt */
  expectData(len: number, ...checkers: Checker[]): Seg {
    const s = this.expect(seqNum(this.rcvNxt), ...checkers);
    assert.equal(s.payload.length, len, `payload length of ${segToString(s)}`);
    this.rcvNxt = (this.rcvNxt + len + (s.flags & TCP_FIN ? 1 : 0)) >>> 0;
    return s;
  }

  /** a pure ACK of everything the remote sent, at rcvNxt (the stack's duplicate / window ACK) */
  expectAck(...checkers: Checker[]): Seg {
    return this.expect(flags(TCP_ACK), seqNum(this.rcvNxt), ackNum(this.sndNxt), ...checkers);
  }

  get state(): string {
    return this.tp === null ? 'none' : stateName(this.tp);
  }

  // ---- closing states ----

  /** the application shuts down writing: the stack's FIN → FIN-WAIT-1 */
  toFinWait1(): void {
    assert.equal(this.ctx.host.sys.shutdown(this.fd, C.SHUT_WR), 0, 'shutdown');
    this.expect(flags(TCP_FIN | TCP_ACK), seqNum(this.rcvNxt), ackNum(this.sndNxt));
    this.rcvNxt = (this.rcvNxt + 1) >>> 0;
    assert.equal(this.state, 'FIN_WAIT1');
  }

  /** FIN-WAIT-1 and the remote's ACK of the FIN → FIN-WAIT-2 */
  toFinWait2(): void {
    this.toFinWait1();
    this.send({ flags: TCP_ACK });
    assert.equal(this.state, 'FIN_WAIT2');
  }

  /** FIN-WAIT-2 and the remote's FIN → the stack's ACK → TIME-WAIT */
  toTimeWait(): void {
    this.toFinWait2();
    this.send({ flags: TCP_FIN | TCP_ACK });
    this.expectAck();
    assert.equal(this.state, 'TIME_WAIT');
  }

  /** FIN-WAIT-1 and a FIN that does not acknowledge the stack's FIN → CLOSING */
  toClosing(): void {
    this.toFinWait1();
    this.send({ flags: TCP_FIN | TCP_ACK, ack: (this.rcvNxt - 1) >>> 0 });
    this.expectAck();
    assert.equal(this.state, 'CLOSING');
  }

  /** the remote's FIN → the stack's ACK → CLOSE-WAIT */
  toCloseWait(): void {
    this.send({ flags: TCP_FIN | TCP_ACK });
    this.expectAck();
    assert.equal(this.state, 'CLOSE_WAIT');
  }

  /** CLOSE-WAIT and the application's shutdown → the stack's FIN → LAST-ACK */
  toLastAck(): void {
    this.toCloseWait();
    assert.equal(this.ctx.host.sys.shutdown(this.fd, C.SHUT_WR), 0, 'shutdown');
    this.expect(flags(TCP_FIN | TCP_ACK), seqNum(this.rcvNxt), ackNum(this.sndNxt));
    this.rcvNxt = (this.rcvNxt + 1) >>> 0;
    assert.equal(this.state, 'LAST_ACK');
  }
}
