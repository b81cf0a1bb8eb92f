/**
 * TCP's answers to invalid segments, segment by segment (fake IpLayer): Linux's per-socket
 * tcp_invalid_ratelimit (one answer per 500 ms) on duplicate ACKs for out-of-window segments,
 * challenge ACKs for RSTs and SYNs (RFC 5961) with the host-wide tcp_challenge_ack_limit, ACKs of
 * unsent data and too-old ACKs (RFC 5961 §5.2), a passive open's request checks (tcp_check_req)
 * and TIME_WAIT; and the ACK exchanges these limits end.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr, pseudoHeaderSum } from '../../src/inet/index.js';
import { RxMeta } from '../../src/net/index.js';
import { CHECKSUM_NONE, skbPut } from '../../src/skb/index.js';
import {
  TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_SYN_RECV, TCP_TIME_WAIT, type TcpSock,
} from '../../src/tcp/index.js';
import { TCP_CHALLENGE_ACK_LIMIT, TCP_INVALID_RATELIMIT } from '../../src/tcp/ratelimit.js';
import { csumFinish, csumPartial } from '../../src/wire/checksum.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { FakeNet, attach, drain, seg, type FakeHost, type Wire } from './fake-ip.js';

const A_ADDR = '10.0.0.1';
const B_ADDR = '10.0.0.2';
const PORT = 80;
const MS = 1000;

interface Forged {
  sport: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags: number;
  payload?: number;
}

/** delivers a hand-built segment (valid checksum, window 65535) from `src` to host `h` */
function forge(h: FakeHost, src: string, dst: string, f: Forged): void {
  const plen = f.payload ?? 0;
  const bytes = new Uint8Array(20 + plen).fill(0x5a, 20);
  const dv = new DataView(bytes.buffer);
  dv.setUint16(0, f.sport);
  dv.setUint16(2, f.dport ?? PORT);
  dv.setUint32(4, f.seq >>> 0);
  dv.setUint32(8, (f.ack ?? 0) >>> 0);
  bytes[12] = 5 << 4;
  bytes[13] = f.flags;
  dv.setUint16(14, 65535);
  const s = InetAddr.parse(src);
  const d = InetAddr.parse(dst);
  dv.setUint16(16, csumFinish(csumPartial(bytes, dv, 0, bytes.length, pseudoHeaderSum(s, d, 6, bytes.length))));
  const skb = h.rxSkbs.alloc(bytes.length, 0)!;
  skb.buf.set(bytes, skbPut(skb, bytes.length));
  skb.ipSummed = CHECKSUM_NONE;
  const m = new RxMeta();
  m.family = 4;
  m.src.set(s);
  m.dst.set(d);
  m.dev = h.ip.dev;
  h.tcp.rcv(skb, m);
}

/** runs timers for `us` of virtual time and moves the clock there */
function wait(net: FakeNet, us: number): void {
  const end = net.now + us;
  net.run(() => false, us);
  net.sched.advanceTo(end);
}

/** what host `name` sent from virtual time `t0` on */
function sentBy(net: FakeNet, name: string, t0: number): Wire[] {
  return net.log.filter((w) => w.from === name && w.t >= t0);
}

interface Pair {
  net: FakeNet;
  a: FakeHost;
  b: FakeHost;
  l: TcpSock;
  /** the client on A and the accepted child on B */
  ca: TcpSock;
  cb: TcpSock;
}

function pair(): Pair {
  const net = new FakeNet();
  const a = net.addHost('a', [A_ADDR]);
  const b = net.addHost('b', [B_ADDR]);
  const l = b.tcp.socket(4);
  attach(l);
  assert.equal(b.tcp.userBind(l, InetAddr.parse(B_ADDR), PORT), 0);
  assert.equal(b.tcp.userListen(l, 128), 0);
  const ca = connect(net, a, b, l);
  const cb = b.tcp.userAccept(l)!;
  attach(cb);
  wait(net, 10 * MS);
  return { net, a, b, l, ca, cb };
}

function connect(net: FakeNet, a: FakeHost, b: FakeHost, l: TcpSock): TcpSock {
  const ca = a.tcp.socket(4);
  attach(ca);
  assert.equal(a.tcp.userConnect(ca, InetAddr.parse(B_ADDR), PORT), 0);
  const before = l.acceptQueue.length;
  assert.ok(net.run(() => ca.state === TCP_ESTABLISHED && l.acceptQueue.length > before, 5_000_000));
  void b;
  return ca;
}

/** sends `n` bytes from `tx` (on host `from`) and reads them at `rx` */
function carry(net: FakeNet, from: FakeHost, tx: TcpSock, rx: TcpSock, n: number): void {
  const data = new Uint8Array(n).fill(7);
  assert.equal(from.tcp.userSend(tx, data, 0, n, false), n);
  let got = 0;
  assert.ok(net.run(() => {
    got += drain(rx).length;
    return got >= n;
  }, 10_000_000), `carried ${got} of ${n}`);
}

/** the one-per-period rule: consecutive answers at least `period` apart */
function assertSpaced(ws: Wire[], period: number): void {
  for (let i = 1; i < ws.length; i++) assert.ok(ws[i]!.t - ws[i - 1]!.t >= period, `answers ${i - 1} and ${i} ${ws[i]!.t - ws[i - 1]!.t} µs apart`);
}

describe('TCP answers to invalid segments are rate limited (Linux tcp_invalid_ratelimit, RFC 5961)', () => {
  it('defaults: 500 ms per socket, 1000 challenge ACKs per second per host', () => {
    const { b, net } = pair();
    assert.equal(TCP_INVALID_RATELIMIT, 500_000);
    assert.equal(b.tcp.invalidRatelimit, TCP_INVALID_RATELIMIT);
    assert.equal(TCP_CHALLENGE_ACK_LIMIT, 1000);
    assert.equal(b.tcp.challengeAcks.limit, TCP_CHALLENGE_ACK_LIMIT);
    void net;
  });

  it('a flood of out-of-window ACKs draws at most one duplicate ACK per 500 ms; out-of-window data is answered every time', () => {
    const { net, a, b, ca, cb } = pair();
    net.drop = (w) => w.from === 'b'; // keep A out of it: only B's answers are counted
    const t0 = net.now;
    // 1000 pure ACKs far left of the window, 2 ms apart (2 s)
    for (let i = 0; i < 1000; i++) {
      forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt - 200_000, ack: cb.sndNxt, flags: TCP_ACK });
      wait(net, 2 * MS);
    }
    const answers = sentBy(net, 'b', t0);
    assert.equal(answers.length, 4, 'one per 500 ms over 2 s');
    assertSpaced(answers, 500 * MS);
    for (const w of answers) {
      const s = seg(w);
      assert.deepEqual([s.flags, s.seq, s.ack, s.len, s.sport, s.dport], [TCP_ACK, cb.sndNxt, cb.rcvNxt, 0, PORT, ca.lport], 'a duplicate ACK');
    }
    assert.equal(b.tcp.stats.ackSkippedSeq, 996);
    // data out of window is not part of an ACK loop: every segment gets its duplicate ACK
    const t1 = net.now;
    for (let i = 0; i < 10; i++) forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt - 200_000, ack: cb.sndNxt, flags: TCP_ACK, payload: 100 });
    assert.equal(sentBy(net, 'b', t1).length, 10);
    assert.equal(b.tcp.stats.ackSkippedSeq, 996);
    // the connection is untouched
    net.drop = null;
    carry(net, a, ca, cb, 5000);
    carry(net, b, cb, ca, 5000);
    assert.equal(b.rxSkbs.live, 0, 'every forged skb freed');
  });

  it('1000 forged in-window RSTs draw at most one challenge ACK per 500 ms; the RST at rcv_nxt still resets', () => {
    const { net, a, b, ca, cb } = pair();
    net.drop = (w) => w.from === 'b';
    const t0 = net.now;
    for (let i = 0; i < 1000; i++) {
      forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt + 1000 + i, flags: TCP_RST });
      wait(net, 1 * MS);
    }
    const answers = sentBy(net, 'b', t0);
    assert.equal(answers.length, 2, 'one per 500 ms over 1 s');
    assertSpaced(answers, 500 * MS);
    for (const w of answers) {
      const s = seg(w);
      assert.deepEqual([s.flags, s.seq, s.ack, s.len], [TCP_ACK, cb.sndNxt, cb.rcvNxt, 0], 'a challenge ACK');
    }
    assert.equal(b.tcp.stats.challengeAck, 2);
    assert.equal(b.tcp.stats.ackSkippedChallenge, 998);
    assert.equal(cb.state, TCP_ESTABLISHED);
    // the stamp is the socket's: right after a challenge ACK an out-of-window ACK is not answered
    wait(net, 500 * MS);
    const t1 = net.now;
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt + 5, flags: TCP_RST });
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt - 200_000, ack: cb.sndNxt, flags: TCP_ACK });
    assert.equal(sentBy(net, 'b', t1).length, 1);
    assert.equal(b.tcp.stats.ackSkippedSeq, 1);
    // a RST exactly at rcv_nxt is believed
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt, flags: TCP_RST });
    assert.equal(cb.state, TCP_CLOSE);
    assert.equal(cb.error, 104); // ECONNRESET
    void a;
  });

  it('SYNs on an established connection draw rate-limited challenge ACKs and change nothing', () => {
    const { net, a, b, ca, cb } = pair();
    net.drop = (w) => w.from === 'b';
    const t0 = net.now;
    for (let i = 0; i < 100; i++) {
      // in the window and far out of it: both are challenged
      forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: i % 2 === 0 ? cb.rcvNxt + 10 : cb.rcvNxt + 0x40000000, flags: TCP_SYN });
      wait(net, 5 * MS);
    }
    const answers = sentBy(net, 'b', t0);
    assert.equal(answers.length, 1, 'one in 500 ms');
    assert.equal(seg(answers[0]!).flags, TCP_ACK);
    assert.equal(b.tcp.stats.synChallenge, 100);
    assert.equal(b.tcp.stats.challengeAck, 1);
    assert.equal(b.tcp.stats.ackSkippedChallenge, 99);
    assert.equal(cb.state, TCP_ESTABLISHED);
    net.drop = null;
    carry(net, a, ca, cb, 3000);
  });

  it('the host-wide challenge ACK budget (tcp_challenge_ack_limit) caps challenge ACKs per second across sockets', () => {
    const { net, a, b, l, ca, cb } = pair();
    const conns: [TcpSock, TcpSock][] = [[ca, cb]];
    for (let i = 0; i < 39; i++) {
      const c = connect(net, a, b, l);
      const s = b.tcp.userAccept(l)!;
      attach(s);
      conns.push([c, s]);
    }
    wait(net, 10 * MS);
    b.tcp.challengeAcks.limit = 10;
    net.drop = (w) => w.from === 'b';
    const perSecond: number[] = [];
    for (let round = 0; round < 3; round++) {
      // the start of a fresh virtual second
      wait(net, 1_000_000 - (net.now % 1_000_000) + 100);
      const t0 = net.now;
      for (const [c, s] of conns) forge(b, A_ADDR, B_ADDR, { sport: c.lport, seq: s.rcvNxt + 7, flags: TCP_RST });
      perSecond.push(sentBy(net, 'b', t0).length);
    }
    // Linux draws each second's budget in [limit/2, limit·3/2)
    for (const n of perSecond) assert.ok(n >= 5 && n <= 14, `${n} challenge ACKs in one second`);
    assert.equal(b.tcp.stats.challengeAck, perSecond.reduce((x, y) => x + y, 0));
    for (const [, s] of conns) assert.equal(s.state, TCP_ESTABLISHED);
  });

  it('an ACK of data never sent: dropped silently in ESTABLISHED (its data too), a rate-limited challenge ACK in CLOSE_WAIT', () => {
    const { net, a, b, ca, cb } = pair();
    net.drop = (w) => w.from === 'b';
    const t0 = net.now;
    const rcvNxt = cb.rcvNxt;
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt, ack: cb.sndMax + 1000, flags: TCP_ACK, payload: 100 });
    assert.equal(cb.rcvNxt, rcvNxt, 'the data was not taken');
    assert.equal(sentBy(net, 'b', t0).length, 0, 'no answer');
    // CLOSE_WAIT: the peer's FIN arrives, then ACKs of unsent data
    net.drop = null;
    assert.equal(a.tcp.userShutdownWrite(ca), 0);
    assert.ok(net.run(() => cb.state === TCP_CLOSE_WAIT, 1_000_000));
    wait(net, 10 * MS);
    net.drop = (w) => w.from === 'b';
    const t1 = net.now;
    for (let i = 0; i < 50; i++) {
      forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt, ack: cb.sndMax + 1000, flags: TCP_ACK });
      wait(net, 10 * MS);
    }
    const answers = sentBy(net, 'b', t1);
    assert.equal(answers.length, 1, 'one challenge ACK in 500 ms');
    assert.deepEqual([seg(answers[0]!).flags, seg(answers[0]!).ack], [TCP_ACK, cb.rcvNxt]);
    assert.equal(cb.state, TCP_CLOSE_WAIT);
  });

  it('RFC 5961 §5.2: an ACK older than snd_una − max window drops the segment (data too) with a challenge ACK; an old ACK within it keeps the data', () => {
    const { net, a, b, ca, cb } = pair();
    carry(net, b, cb, ca, 200_000);
    wait(net, 10 * MS);
    const maxWin = Math.min(cb.maxWindow, cb.stats.bytesAcked);
    assert.ok(maxWin > 0);
    net.drop = (w) => w.from === 'b';
    const t0 = net.now;
    const rcvNxt = cb.rcvNxt;
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt, ack: cb.sndUna - maxWin - 1, flags: TCP_ACK, payload: 100 });
    assert.equal(cb.rcvNxt, rcvNxt, 'data behind a too-old ACK is never delivered');
    const answers = sentBy(net, 'b', t0);
    assert.equal(answers.length, 1);
    assert.deepEqual([seg(answers[0]!).flags, seg(answers[0]!).ack], [TCP_ACK, rcvNxt], 'a challenge ACK');
    assert.equal(b.tcp.stats.challengeAck, 1);
    // within the window: an old duplicate ACK, the data counts
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt, ack: cb.sndUna - maxWin, flags: TCP_ACK, payload: 100 });
    assert.equal(cb.rcvNxt, (rcvNxt + 100) | 0);
    void a;
  });

  it('a passive open (request) checks the ACK first, rate limits its answers, and dies on an in-window RST or SYN', () => {
    const net = new FakeNet();
    const b = net.addHost('b', [B_ADDR]);
    net.addHost('a', [A_ADDR]);
    const l = b.tcp.socket(4);
    attach(l);
    assert.equal(b.tcp.userBind(l, InetAddr.parse(B_ADDR), PORT), 0);
    assert.equal(b.tcp.userListen(l, 128), 0);
    net.drop = (w) => w.from === 'b'; // A never hears of it
    const req = (sport: number, irs: number): TcpSock => {
      forge(b, A_ADDR, B_ADDR, { sport, seq: irs, flags: TCP_SYN });
      const c = b.tcp.lookupEstablished(InetAddr.parse(B_ADDR), PORT, InetAddr.parse(A_ADDR), sport);
      assert.ok(c !== null && c.state === TCP_SYN_RECV);
      return c;
    };
    const c = req(1000, 5000);
    wait(net, 600 * MS);
    // retransmitted SYNs: one SYN-ACK per 500 ms
    let t0 = net.now;
    for (let i = 0; i < 100; i++) {
      forge(b, A_ADDR, B_ADDR, { sport: 1000, seq: 5000, flags: TCP_SYN });
      wait(net, 1 * MS);
    }
    let out = sentBy(net, 'b', t0);
    assert.equal(out.length, 1);
    assert.deepEqual([seg(out[0]!).flags, seg(out[0]!).seq, seg(out[0]!).ack], [TCP_SYN | TCP_ACK, c.iss, 5001]);
    assert.equal(b.tcp.stats.ackSkippedSynRecv, 99);
    // an ACK of something else than our SYN-ACK: reset (seq = its ACK field), whatever its sequence
    t0 = net.now;
    forge(b, A_ADDR, B_ADDR, { sport: 1000, seq: 999_999, ack: c.iss + 77, flags: TCP_ACK });
    out = sentBy(net, 'b', t0);
    assert.equal(out.length, 1);
    assert.deepEqual([seg(out[0]!).flags, seg(out[0]!).seq, seg(out[0]!).ack], [TCP_RST, (c.iss + 77) >>> 0, 0]);
    assert.equal(c.state, TCP_SYN_RECV, 'the request stays');
    // out-of-window ACKs of our SYN-ACK: one ACK per 500 ms
    wait(net, 600 * MS);
    t0 = net.now;
    for (let i = 0; i < 100; i++) {
      forge(b, A_ADDR, B_ADDR, { sport: 1000, seq: 5001 + 200_000, ack: c.iss + 1, flags: TCP_ACK });
      wait(net, 1 * MS);
    }
    out = sentBy(net, 'b', t0).filter((w) => !(seg(w).flags & TCP_SYN)); // (the SYN-ACK's own retransmission timer may fire)
    assert.equal(out.length, 1);
    assert.deepEqual([seg(out[0]!).flags, seg(out[0]!).seq, seg(out[0]!).ack], [TCP_ACK, (c.iss + 1) >>> 0, 5001]);
    assert.equal(c.state, TCP_SYN_RECV);
    // a new SYN inside the window: RST (answering a SYN: seq 0, ACK of it) and the request goes
    t0 = net.now;
    forge(b, A_ADDR, B_ADDR, { sport: 1000, seq: 5001 + 10, flags: TCP_SYN });
    out = sentBy(net, 'b', t0);
    assert.equal(out.length, 1);
    assert.deepEqual([seg(out[0]!).flags, seg(out[0]!).ack], [TCP_RST | TCP_ACK, 5001 + 11]);
    assert.equal(c.state, TCP_CLOSE);
    assert.equal(l.synQueueLen, 0);
    assert.equal(b.tcp.stats.embryonicRsts, 1);
    // a RST anywhere in the window drops a request silently
    const c2 = req(1001, 9000);
    const n0 = net.log.length;
    forge(b, A_ADDR, B_ADDR, { sport: 1001, seq: 9001 + 300, flags: TCP_RST });
    assert.equal(c2.state, TCP_CLOSE);
    assert.equal(net.log.length, n0, 'no answer');
    assert.equal(l.synQueueLen, 0);
    // and the right ACK still completes a handshake
    const c3 = req(1002, 7000);
    forge(b, A_ADDR, B_ADDR, { sport: 1002, seq: 7001, ack: c3.iss + 1, flags: TCP_ACK });
    assert.equal(c3.state, TCP_ESTABLISHED);
    assert.equal(l.acceptQueue.length, 1);
    assert.equal(b.tcp.connectionCount, 1);
  });

  it('TIME_WAIT answers old ACKs at most once per 500 ms, retransmitted FINs every time', () => {
    const { net, a, b, ca, cb } = pair();
    assert.equal(a.tcp.userShutdownWrite(ca), 0);
    assert.ok(net.run(() => cb.state === TCP_CLOSE_WAIT, 1_000_000));
    assert.equal(b.tcp.userShutdownWrite(cb), 0);
    assert.ok(net.run(() => ca.state === TCP_TIME_WAIT, 1_000_000));
    wait(net, 10 * MS);
    net.drop = (w) => w.from === 'a';
    const t0 = net.now;
    for (let i = 0; i < 100; i++) {
      forge(a, B_ADDR, A_ADDR, { sport: PORT, dport: ca.lport, seq: ca.rcvNxt - 10, ack: ca.sndNxt, flags: TCP_ACK });
      wait(net, 1 * MS);
    }
    assert.equal(sentBy(net, 'a', t0).length, 1);
    assert.equal(a.tcp.stats.ackSkippedTimeWait, 99);
    const t1 = net.now;
    for (let i = 0; i < 5; i++) forge(a, B_ADDR, A_ADDR, { sport: PORT, dport: ca.lport, seq: ca.rcvNxt - 1, ack: ca.sndNxt, flags: TCP_FIN | TCP_ACK });
    const out = sentBy(net, 'a', t1);
    assert.equal(out.length, 5);
    for (const w of out) assert.deepEqual([seg(w).flags, seg(w).ack], [TCP_ACK, ca.rcvNxt]);
  });
});

describe('the ACK exchanges the limits end (TCP issue 6)', () => {
  it('B accepts forged bytes past what A sent: A drops the ACK of unsent data silently, nobody answers', () => {
    const { net, a, b, ca, cb } = pair();
    const t0 = net.now;
    // in window at rcv_nxt, 400 bytes A never sent
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt, ack: cb.sndNxt, flags: TCP_ACK, payload: 400 });
    assert.equal(cb.rcvNxt, (ca.sndNxt + 400) | 0);
    wait(net, 1_000_000);
    const frames = net.log.filter((w) => w.t >= t0);
    assert.ok(frames.length <= 2, `${frames.length} segments in the second after`);
    assert.equal(sentBy(net, 'a', t0).length, 0, 'A answers no ACK of unsent data in ESTABLISHED');
    void a;
  });

  it('a half-open connection (B reset, then a SYN from A\'s 4-tuple) is reset instead of exchanging ACKs', () => {
    const { net, a, b, ca, cb } = pair();
    const t0 = net.now;
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: cb.rcvNxt, flags: TCP_RST });
    assert.equal(cb.state, TCP_CLOSE);
    forge(b, A_ADDR, B_ADDR, { sport: ca.lport, seq: ca.sndNxt + 90, flags: TCP_SYN });
    wait(net, 2_000_000);
    const frames = net.log.filter((w) => w.t >= t0);
    // SYN-ACK, A's challenge ACK, B's RST for it (A's connection goes), B's SYN-ACK retransmission and A's RST
    assert.ok(frames.length <= 6, `${frames.length} segments in 2 s`);
    assert.equal(ca.state, TCP_CLOSE);
    assert.equal(a.tcp.stats.challengeAck, 1);
    wait(net, 120_000_000);
    assert.equal(b.tcp.connectionCount, 0, 'the half-open request is gone');
    const t1 = net.now;
    wait(net, 60_000_000);
    assert.equal(net.log.filter((w) => w.t >= t1).length, 0, 'quiet');
  });
});
