/**
 * Congestion control wired into the TCP core (issue 6 items 3–4): cwnd / ssthresh in segments,
 * the per-host default algorithm (CUBIC) and `reno`, PRR during fast recovery, the RTO's Loss
 * state with cwnd = in flight + 1, and the tail loss probe replacing a tail RTO. Every scenario
 * checks that every byte arrives and that the sender ends quiet (nothing in flight).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../src/inet/index.js';
import { CaState, tcpGetCongestion, tcpSetCongestion } from '../../src/tcp/cong/index.js';
import { TCP_ESTABLISHED, type TcpSock } from '../../src/tcp/index.js';
import { FakeNet, attach, drain, seg, type FakeHost } from './fake-ip.js';

const A = (s: string): InetAddr => InetAddr.parse(s);

function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 9) + salt) & 0xff;
  return b;
}

function setup(cc?: string): { net: FakeNet; a: FakeHost; b: FakeHost; c: TcpSock; s: TcpSock } {
  const net = new FakeNet();
  const a = net.addHost('a', ['10.0.0.1']);
  const b = net.addHost('b', ['10.0.0.2']);
  if (cc !== undefined) assert.equal(a.tcp.congestion.setDefault(cc), 0);
  const l = b.tcp.socket(4);
  attach(l);
  assert.equal(b.tcp.userBind(l, A('0.0.0.0'), 5201), 0);
  assert.equal(b.tcp.userListen(l, 16), 0);
  const c = a.tcp.socket(4);
  attach(c);
  assert.equal(a.tcp.userConnect(c, A('10.0.0.2'), 5201), 0);
  assert.ok(net.run(() => c.state === TCP_ESTABLISHED && l.acceptQueue.length > 0, 5_000_000));
  const s = b.tcp.userAccept(l)!;
  attach(s);
  return { net, a, b, c, s };
}

/** sends `data` from c and reads it at s; `watch` runs after every step */
function transfer(net: FakeNet, a: FakeHost, c: TcpSock, s: TcpSock, data: Uint8Array, watch: () => void = () => {}): Uint8Array {
  const out = new Uint8Array(data.length);
  let got = 0;
  let off = 0;
  const end = net.now + 60_000_000;
  while (got < data.length && net.now < end) {
    if (off < data.length) {
      const r = a.tcp.userSend(c, data, off, data.length - off, false);
      if (r > 0) off += r;
    }
    const d = drain(s);
    out.set(d, got);
    got += d.length;
    watch();
    if (d.length > 0) continue;
    if (!net.sched.step(end)) break;
  }
  return out.subarray(0, got);
}

describe('congestion control wired into the core', () => {
  it('CUBIC by default, reno selectable per host; cwnd counts segments from the initial window of 10', () => {
    const { net, c, s } = setup();
    assert.equal(c.caOps.name, 'cubic');
    assert.equal(s.caOps.name, 'cubic');
    assert.equal(c.sndCwnd, 10);
    assert.equal(c.sndSsthresh, 0x7fffffff);
    assert.equal(c.caState, CaState.Open);
    assert.equal(c.cwnd, 10 * c.mss, 'the byte view the transmit path uses');
    const r = setup('reno');
    assert.equal(r.c.caOps.name, 'reno');
    assert.equal(r.s.caOps.name, 'cubic', 'the other host keeps its default');
    void net;
  });

  it('TCP_CONGESTION rules on the socket (registry): unknown ENOENT, empty EINVAL, reno re-inits an established socket', () => {
    const { a, c } = setup();
    const enc = (t: string): Uint8Array => new TextEncoder().encode(t);
    assert.equal(tcpSetCongestion(a.tcp.congestion, c, enc('nope'), false), -2);
    assert.equal(tcpSetCongestion(a.tcp.congestion, c, new Uint8Array(0), false), -22);
    assert.equal(c.caOps.name, 'cubic');
    c.sndCwnd = 17;
    assert.equal(tcpSetCongestion(a.tcp.congestion, c, enc('reno\0junk'), false), 0);
    assert.equal(c.caOps.name, 'reno');
    assert.equal(c.caSetsockopt, true);
    assert.equal(new TextDecoder().decode(tcpGetCongestion(c, 16)).replace(/\0+$/, ''), 'reno');
    assert.equal(c.sndCwnd, 17, 'reno init keeps the window');
  });

  it('slow start without loss: cwnd grows in whole segments, every byte arrives', () => {
    const { net, a, c, s } = setup('reno');
    const data = pattern(200 * 1448);
    const got = transfer(net, a, c, s, data);
    assert.deepEqual(got, data);
    assert.ok(c.sndCwnd > 10 && Number.isInteger(c.sndCwnd), `cwnd ${c.sndCwnd}`);
    assert.equal(c.caState, CaState.Open);
    assert.equal(c.stats.retransSegs, 0);
    assert.ok(net.run(() => c.inFlight === 0, 5_000_000));
  });

  it('one lost segment: Recovery with the module ssthresh and PRR, back to Open at cwnd = ssthresh', () => {
    for (const cc of ['reno', 'cubic']) {
      const { net, a, c, s } = setup(cc);
      let n = 0;
      // the 30th data segment from a is lost once
      net.drop = (w) => w.from === 'a' && seg(w).len > 0 && ++n === 30;
      let sawRecovery = false;
      let priorCwnd = 0;
      let ssthreshAtEntry = 0;
      let maxCwndInRecovery = 0;
      const data = pattern(300 * 1448, 3);
      const got = transfer(net, a, c, s, data, () => {
        if (c.caState === CaState.Recovery) {
          if (!sawRecovery) {
            priorCwnd = c.priorCwnd;
            ssthreshAtEntry = c.sndSsthresh;
          }
          sawRecovery = true;
          maxCwndInRecovery = Math.max(maxCwndInRecovery, c.sndCwnd);
        }
      });
      assert.deepEqual(got, data, cc);
      assert.ok(sawRecovery, `${cc}: fast recovery entered`);
      const want = cc === 'reno' ? Math.max(priorCwnd >>> 1, 2) : Math.max(Math.floor((priorCwnd * 717) / 1024), 2);
      assert.equal(ssthreshAtEntry, want, `${cc}: ssthresh from the module (prior cwnd ${priorCwnd})`);
      assert.ok(maxCwndInRecovery <= Math.max(priorCwnd, ssthreshAtEntry + 1), `${cc}: PRR never opens cwnd past the prior window`);
      assert.equal(c.stats.timeouts, 0, `${cc}: no RTO`);
      assert.equal(c.caState, CaState.Open);
      assert.ok(c.sndCwnd >= ssthreshAtEntry, `${cc}: cwnd ${c.sndCwnd} ≥ ssthresh ${ssthreshAtEntry} after recovery`);
      assert.ok(net.run(() => c.inFlight === 0, 5_000_000));
      assert.equal(c.rtx.count, 0);
    }
  });

  it('an RTO: Loss state, cwnd = in flight + 1, the module ssthresh; Open again once all is ACKed', () => {
    const { net, a, c, s } = setup('reno');
    a.tcp.sysctl.tcp_early_retrans = 0; // no loss probe: the RTO itself
    let blackout = true;
    net.drop = (w) => blackout && w.from === 'b';
    const data = pattern(20 * 1448, 5);
    let off = 0;
    while (off < data.length) off += a.tcp.userSend(c, data, off, data.length - off, false);
    const cwndBefore = c.sndCwnd;
    assert.ok(net.run(() => c.stats.timeouts === 1, 5_000_000));
    assert.equal(c.caState, CaState.Loss);
    assert.equal(c.sndCwnd, 1, 'everything lost: in flight 0 + 1');
    assert.equal(c.sndSsthresh, Math.max(cwndBefore >>> 1, 2));
    assert.equal(c.packetsInFlight, 1, 'the head retransmitted');
    blackout = false;
    assert.ok(net.run(() => c.inFlight === 0, 30_000_000));
    assert.deepEqual(drain(s, 1 << 20), data);
    assert.equal(c.caState, CaState.Open);
  });

  it('lost ACKs of the tail: a loss probe (the last segment again) draws the ACK well before the RTO', () => {
    const { net, a, c, s } = setup();
    const data = pattern(12 * 1448, 9);
    // every ACK of the last two segments is lost until the probe went out (with one segment
    // out, the PTO would include rto_min, as Linux's does)
    const tail = (c.iss + 1 + 10 * 1448) >>> 0;
    let ackDrops = 0;
    net.drop = (w) => {
      const sg = seg(w);
      if (w.from !== 'b' || c.stats.retransSegs > 0 || ((sg.ack - tail) | 0) <= 0) return false;
      ackDrops++;
      return true;
    };
    const t0 = net.now;
    const got = transfer(net, a, c, s, data);
    assert.deepEqual(got, data);
    assert.ok(net.run(() => c.inFlight === 0, 5_000_000));
    assert.ok(ackDrops > 0, 'ACKs were lost');
    assert.equal(c.stats.retransSegs, 1, 'one probe');
    assert.equal(c.stats.timeouts, 0, 'no RTO');
    assert.ok(net.now - t0 < 200_000, `repaired after ${net.now - t0} µs`);
    assert.ok(net.run(() => c.inFlight === 0, 5_000_000));
    assert.equal(c.tlpHighSeq, 0, 'the probe episode ended');
  });

  it('TLP off (tcp_early_retrans = 0): the same tail loss waits for the RTO', () => {
    const { net, a, c, s } = setup();
    a.tcp.sysctl.tcp_early_retrans = 0;
    const data = pattern(12 * 1448, 9);
    const dropped = new Set<number>();
    const tail = (c.iss + 1 + 10 * 1448) >>> 0;
    net.drop = (w) => {
      const sg = seg(w);
      if (w.from !== 'a' || sg.len === 0 || ((sg.seq - tail) | 0) < 0 || dropped.has(sg.seq)) return false;
      dropped.add(sg.seq);
      return true;
    };
    const got = transfer(net, a, c, s, data);
    assert.deepEqual(got, data);
    assert.equal(c.stats.timeouts, 1);
  });
});
