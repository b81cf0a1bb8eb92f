/**
 * TCP core rework (issue 6): the advertised window's right edge, options on every segment
 * (timestamps, SACK, DSACK), PAWS, the retransmit queue and the SACK scoreboard — byte-exact
 * checks on what the stack puts on the (fake) wire.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr, pseudoHeaderSum } from '../../src/inet/index.js';
import { csumFinish, csumPartial } from '../../src/wire/checksum.js';
import { TCP_ESTABLISHED, type TcpSock } from '../../src/tcp/index.js';
import { seqGe } from '../../src/wire/seq.js';
import { TCP_ACK, TCP_PSH, TCP_SYN, TcpOptions, parseTcpOptions } from '../../src/wire/tcp.js';
import { FakeNet, attach, drain, seg, type FakeHost, type Wire } from './fake-ip.js';

const A = (s: string): InetAddr => InetAddr.parse(s);

function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 11) + salt) & 0xff;
  return b;
}

function setup(rcvBuf = 0): { net: FakeNet; a: FakeHost; b: FakeHost; c: TcpSock; s: TcpSock; l: TcpSock } {
  const net = new FakeNet();
  const a = net.addHost('a', ['10.0.0.1']);
  const b = net.addHost('b', ['10.0.0.2']);
  const l = b.tcp.socket(4);
  attach(l);
  if (rcvBuf > 0) l.rcvBuf = rcvBuf;
  assert.equal(b.tcp.userBind(l, A('0.0.0.0'), 5201), 0);
  assert.equal(b.tcp.userListen(l, 16), 0);
  const c = a.tcp.socket(4);
  attach(c);
  assert.equal(a.tcp.userConnect(c, A('10.0.0.2'), 5201), 0);
  assert.ok(net.run(() => c.state === TCP_ESTABLISHED && l.acceptQueue.length > 0, 5_000_000));
  const s = b.tcp.userAccept(l)!;
  attach(s);
  return { net, a, b, c, s, l };
}

interface Forge {
  seq: number;
  ack: number;
  flags?: number;
  win?: number;
  ts?: [number, number];
  sack?: [number, number][];
  payload?: number;
}

/** a segment as from `src`:`sport` to `dst`:`dport`, with a valid checksum, put on the wire */
function inject(net: FakeNet, src: string, dst: string, sport: number, dport: number, f: Forge): void {
  const optLen = (f.ts ? 12 : 0) + (f.sack && f.sack.length > 0 ? 4 + 8 * f.sack.length : 0);
  const hl = 20 + optLen;
  const len = hl + (f.payload ?? 0);
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, f.seq >>> 0);
  dv.setUint32(8, f.ack >>> 0);
  b[12] = (hl >> 2) << 4;
  b[13] = f.flags ?? TCP_ACK;
  dv.setUint16(14, f.win ?? 1000);
  let o = 20;
  if (f.ts) {
    dv.setUint32(o, 0x0101080a);
    dv.setUint32(o + 4, f.ts[0] >>> 0);
    dv.setUint32(o + 8, f.ts[1] >>> 0);
    o += 12;
  }
  if (f.sack && f.sack.length > 0) {
    dv.setUint32(o, (0x0101 << 16) | (5 << 8) | (2 + 8 * f.sack.length));
    o += 4;
    for (const [st, en] of f.sack) {
      dv.setUint32(o, st >>> 0);
      dv.setUint32(o + 4, en >>> 0);
      o += 8;
    }
  }
  for (let i = hl; i < len; i++) b[i] = 0x5a;
  const s = A(src);
  const d = A(dst);
  dv.setUint16(16, csumFinish(csumPartial(b, dv, 0, len, pseudoHeaderSum(s, d, 6, len))));
  net.send({ t: net.now, from: 'x', src: s, dst: d, bytes: b }, 6);
}

/** TSval of a logged segment (-1 without the option) */
function tsval(w: Wire): number {
  const o = opts(w);
  return o.hasTimestamp ? o.tsVal >>> 0 : -1;
}

function opts(w: Wire): TcpOptions {
  const o = new TcpOptions();
  const sg = seg(w);
  parseTcpOptions(w.bytes, 20, sg.doff - 20, o);
  return o;
}

describe('advertised window (Linux tcp_select_window)', () => {
  it('the right edge never moves left while the receiver does not read', () => {
    const { net, a, c, s } = setup();
    const ws = s.rcvWscale;
    assert.ok(ws > 0, 'window scaling in use');
    const data = pattern(400_000);
    let off = 0;
    const end = net.now + 5_000_000;
    while (net.now < end) {
      if (off < data.length) {
        const r = a.tcp.userSend(c, data, off, data.length - off, false);
        if (r > 0) off += r;
      }
      if (!net.sched.step(end)) break;
    }
    let edge = -1;
    let moved = 0;
    let acks = 0;
    for (const w of net.log) {
      if (w.from !== 'b') continue;
      const sg = seg(w);
      if (sg.flags & TCP_SYN) continue;
      acks++;
      const right = (sg.ack + (new DataView(w.bytes.buffer).getUint16(14) << ws)) >>> 0;
      if (edge >= 0) {
        assert.ok(seqGe(right, edge), `right edge moved left: ${edge} → ${right} (ack ${sg.ack})`);
        if (right !== edge) moved++;
      }
      edge = right;
    }
    assert.ok(acks > 50, `saw ${acks} ACKs`);
    assert.ok(moved > 0, 'the edge did advance');
    // nothing read: the receiver holds what the window allowed, and reading releases it
    assert.ok(drain(s).length > 0);
  });
});

/** sends `data` from c while s reads; returns what s got */
function transfer(net: FakeNet, a: FakeHost, c: TcpSock, s: TcpSock, data: Uint8Array, limitUs = 60_000_000): Uint8Array {
  const out = new Uint8Array(data.length);
  let got = 0;
  let off = 0;
  const end = net.now + limitUs;
  while (got < data.length && net.now < end) {
    if (off < data.length) {
      const r = a.tcp.userSend(c, data, off, data.length - off, false);
      if (r > 0) off += r;
    }
    const d = drain(s);
    out.set(d, got);
    got += d.length;
    if (d.length > 0) continue;
    if (!net.sched.step(end)) break;
  }
  return out.subarray(0, got);
}

describe('timestamps (RFC 7323)', () => {
  it('negotiated by default: every later segment carries TS, TSval ticks in ms, ecr echoes the peer, MSS − 12', () => {
    const { net, a, c, s } = setup();
    assert.ok(c.tsOk && s.tsOk && c.sackOk && s.sackOk);
    assert.equal(c.mss, 1448);
    const data = pattern(100_000);
    const got = transfer(net, a, c, s, data);
    assert.ok(Buffer.from(got).equals(Buffer.from(data)));
    const seen: Record<string, number> = {};
    const offs: Record<string, number> = {};
    for (const w of net.log) {
      const sg = seg(w);
      const v = tsval(w);
      assert.ok(v >= 0, `segment without TS from ${w.from}`);
      assert.ok(sg.len <= 1448);
      // TSval = ms clock + a fixed per-connection offset
      const off = (v - Math.floor(w.t / 1000)) >>> 0;
      if (offs[w.from] === undefined) offs[w.from] = off;
      assert.equal(off, offs[w.from], 'TSval follows the ms clock');
      const other = w.from === 'a' ? 'b' : 'a';
      if (!(sg.flags & TCP_SYN) || sg.flags & TCP_ACK) {
        if (seen[other] !== undefined) assert.ok(((seen[other] - opts(w).tsEcr) | 0) >= 0, 'ecr is a TSval the peer sent');
      }
      seen[w.from] = v;
    }
  });

  it('PAWS: in-window data with an old TSval is dropped and answered with one duplicate ACK', () => {
    const { net, b, c, s } = setup();
    net.run(() => false, 1_000_000);
    const before = net.log.length;
    const okTs = s.tsRecent;
    inject(net, '10.0.0.1', '10.0.0.2', c.lport, 5201, {
      seq: s.rcvNxt, ack: s.sndNxt, flags: TCP_ACK | TCP_PSH, ts: [okTs - 5000, 0], payload: 100,
    });
    net.run(() => false, 100_000);
    assert.equal(b.tcp.stats.pawsEstabRejected, 1);
    assert.equal(s.readableBytes, 0, 'nothing delivered');
    const answers = net.log.slice(before).filter((w) => w.from === 'b');
    assert.equal(answers.length, 1, 'one duplicate ACK');
    assert.equal(seg(answers[0]!).ack, s.rcvNxt);
    // a fresh timestamp is accepted
    inject(net, '10.0.0.1', '10.0.0.2', c.lport, 5201, {
      seq: s.rcvNxt, ack: s.sndNxt, flags: TCP_ACK | TCP_PSH, ts: [okTs + 1, 0], payload: 100,
    });
    net.run(() => false, 100_000);
    assert.equal(s.readableBytes, 100);
    assert.equal(s.tsRecent, okTs + 1, 'ts_recent follows the segment at the window edge');
  });
});

describe('SACK and DSACK (receiver)', () => {
  it('ACKs report out-of-order data in SACK blocks, newest first; the filled hole clears them; a duplicate is DSACKed', () => {
    const { net, a, c, s } = setup();
    let n = 0;
    let dropped = -1;
    net.drop = (w) => {
      if (w.from === 'a' && seg(w).len > 0 && n++ === 1) {
        dropped = seg(w).seq;
        return true;
      }
      return false;
    };
    const data = pattern(30_000);
    const got = transfer(net, a, c, s, data);
    assert.ok(Buffer.from(got).equals(Buffer.from(data)));
    const sacked = net.log.filter((w) => w.from === 'b' && opts(w).sackCount > 0);
    assert.ok(sacked.length >= 3, `${sacked.length} ACKs with SACK blocks`);
    for (const w of sacked) {
      const o = opts(w);
      const sg = seg(w);
      // the hole is the lost segment: every block lies above it; the first block grows
      assert.equal(sg.ack, dropped);
      assert.ok(seqGe(o.sackBlocks[0]!, (dropped + 1448) >>> 0));
    }
    const first = opts(sacked[0]!);
    const last = opts(sacked[sacked.length - 1]!);
    assert.ok(((last.sackBlocks[1]! - first.sackBlocks[1]!) | 0) > 0, 'the block grows with new data');
    const after = net.log.filter((w) => w.from === 'b' && seqGe(seg(w).ack, (dropped + 1448) >>> 0));
    assert.ok(after.length > 0 && opts(after[0]!).sackCount === 0, 'the ACK that fills the hole carries no block');
    // a duplicate of delivered data: DSACK with the duplicate's range, first
    const before = net.log.length;
    inject(net, '10.0.0.1', '10.0.0.2', c.lport, 5201, {
      seq: dropped, ack: s.sndNxt, flags: TCP_ACK | TCP_PSH, ts: [s.tsRecent + 1, 0], payload: 1448,
    });
    net.run(() => false, 100_000);
    const dsack = net.log.slice(before).filter((w) => w.from === 'b');
    assert.equal(dsack.length, 1);
    const o = opts(dsack[0]!);
    assert.equal(o.sackCount, 1);
    assert.deepEqual([o.sackBlocks[0], o.sackBlocks[1]], [dropped, (dropped + 1448) >>> 0]);
    // reported once: the next ACK has no block
    const b2 = net.log.length;
    assert.equal(a.tcp.userSend(c, data, 0, 1000, false), 1000);
    net.run(() => false, 100_000);
    assert.ok(net.log.slice(b2).filter((w) => w.from === 'b').every((w) => opts(w).sackCount === 0));
  });
});

describe('retransmit queue and SACK scoreboard (sender)', () => {
  it('two losses in one flight: exactly the two holes are retransmitted, no RTO', () => {
    const { net, a, c, s } = setup();
    let n = 0;
    const lost: number[] = [];
    net.drop = (w) => {
      if (w.from === 'a' && seg(w).len > 0) {
        const k = n++;
        if (k === 4 || k === 8) {
          lost.push(seg(w).seq);
          return true;
        }
      }
      return false;
    };
    const data = pattern(60_000, 1);
    const got = transfer(net, a, c, s, data);
    assert.ok(Buffer.from(got).equals(Buffer.from(data)));
    assert.equal(c.stats.retransSegs, 2);
    assert.equal(c.stats.timeouts, 0);
    assert.equal(c.stats.fastRetrans, 2);
    const resent = net.log.filter((w) => w.from === 'a' && seg(w).len > 0).map((w) => seg(w).seq);
    for (const q of lost) assert.equal(resent.filter((x) => x === q).length, 2, 'sent, lost, sent again');
    assert.ok(net.run(() => c.inFlight === 0, 1_000_000));
    assert.equal(c.rtx.count, 0, 'every record acknowledged');
    assert.equal(c.rtx.sackedOut + c.rtx.lostOut + c.rtx.retransOut, 0);
  });

  it('an RTO retransmits the head only, then the rest by cwnd; every byte arrives', () => {
    const { net, a, c, s } = setup();
    // pins the RTO itself: no tail loss probe before it
    a.tcp.sysctl.tcp_early_retrans = 0;
    const data = pattern(20 * 1448, 2);
    let blackout = true;
    net.drop = (w) => blackout && w.from === 'b';
    let off = 0;
    while (off < data.length) {
      const r = a.tcp.userSend(c, data, off, data.length - off, false);
      assert.ok(r > 0);
      off += r;
    }
    const sentBefore = net.log.filter((w) => w.from === 'a' && seg(w).len > 0).length;
    // the first RTO fires while B's ACKs are lost
    assert.ok(net.run(() => c.stats.timeouts === 1, 5_000_000));
    const atRto = net.log.filter((w) => w.from === 'a' && seg(w).len > 0).slice(sentBefore);
    assert.equal(atRto.length, 1, 'one segment at the RTO');
    assert.equal(seg(atRto[0]!).seq, c.sndUna, 'the head');
    blackout = false;
    const got = transfer(net, a, c, s, new Uint8Array(0), 20_000_000);
    void got;
    const rest = drain(s, 1 << 20);
    assert.ok(rest.length > 0);
    assert.ok(net.run(() => c.inFlight === 0, 20_000_000));
    assert.equal(c.rtx.count, 0);
  });

  it('forged SACK blocks (beyond snd_nxt, below snd_una, reversed, or claiming a lost segment) lose no byte', () => {
    const { net, a, c, s } = setup();
    let n = 0;
    net.drop = (w) => {
      if (w.from === 'a' && seg(w).len > 0 && n++ === 2) {
        const hole = seg(w).seq;
        // a forger claims the lost segment arrived, and sends nonsense blocks
        net.later(10, () => inject(net, '10.0.0.2', '10.0.0.1', 5201, c.lport, {
          seq: c.rcvNxt, ack: c.sndUna, ts: [c.tsRecent, 0],
          sack: [[hole, (hole + 1448) >>> 0], [(c.sndMax + 10) >>> 0, (c.sndMax + 20) >>> 0], [(hole + 3000) >>> 0, hole]],
        }));
        net.later(20, () => inject(net, '10.0.0.2', '10.0.0.1', 5201, c.lport, {
          seq: c.rcvNxt, ack: c.sndUna, ts: [c.tsRecent, 0],
          sack: [[(hole + 1448) >>> 0, (hole + 2896) >>> 0], [(c.sndUna - 5000) >>> 0, (c.sndUna - 10) >>> 0]],
        }));
        return true;
      }
      return false;
    };
    const data = pattern(40 * 1448, 3);
    const got = transfer(net, a, c, s, data);
    assert.equal(got.length, data.length, 'every byte arrived');
    assert.ok(Buffer.from(got).equals(Buffer.from(data)));
    assert.ok(a.tcp.stats.sackDiscard >= 2, `${a.tcp.stats.sackDiscard} blocks ignored`);
    assert.ok(net.run(() => c.inFlight === 0, 1_000_000));
    assert.equal(c.rtx.count, 0);
  });

});

describe('zero-window probes (Linux tcp_probe_timer)', () => {
  for (const orphan of [false, true]) {
    it(`${orphan ? 'an orphan gives up after 8' : 'a socket gives up after tcp_retries2 (15)'} unanswered probes`, () => {
      const { net, a, b, c, s } = setup(16384);
      assert.equal(s.rcvBuf, 16384);
      const data = pattern(200_000, 4);
      let off = 0;
      // fill B's window: B never reads
      assert.ok(net.run(() => {
        if (off < data.length) {
          const r = a.tcp.userSend(c, data, off, data.length - off, false);
          if (r > 0) off += r;
        }
        return c.sndWnd === 0 && c.inFlight === 0;
      }, 5_000_000), 'zero window reached');
      // B vanishes: nothing it would send arrives
      net.drop = (w) => w.from === 'b';
      if (orphan) a.tcp.userClose(c);
      const t0 = net.log.length;
      assert.ok(net.run(() => c.state === 7 /* CLOSE */, 3_600_000_000), c.stateName);
      const probes = net.log.slice(t0).filter((w) => w.from === 'a' && seg(w).len === 0 && seg(w).seq === ((c.sndUna - 1) >>> 0));
      assert.equal(probes.length, orphan ? 8 : 15);
      if (!orphan) assert.equal(c.error, 110 /* ETIMEDOUT */);
      assert.equal(a.tcp.connectionCount, 0);
      void b;
    });
  }
});
