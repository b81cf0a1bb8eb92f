/**
 * The write path on the wire (src/tcp/write-queue + output/xmit.ts), segment by segment with the
 * harness: MSG_EOR keeps skbs apart (no packet crosses a record's end, the record's last packet
 * carries PSH), Linux's cwnd quota (at most half the window per TSO packet), PSH on every GSO
 * packet and on the packet that ends a write but not on a lone MSS inside one, MSG_MORE / cork
 * held until the probe timer, and caller-owned memory sent from its own pages with exactly one
 * completion after the ACK, adversarial ACKs included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C } from '../../src/index.js';
import { PAGE_SIZE } from '../../src/mem/index.js';
import type { UbufInfo } from '../../src/skb/index.js';
import { tcpSendmsgBegin, tcpSendmsgEnd, tcpSendmsgFrag, tcpSendSpace } from '../../src/tcp/write-queue/index.js';
import { TCP_ACK, TCP_PSH } from '../../src/wire/tcp.js';
import { TcpTestContext, type Conn } from './harness/context.js';
import type { Seg } from './harness/segment.js';

/** a passive connection whose peer offers MSS 1000 and a 512 KiB window (wscale 10, like the eor scripts) */
function open(): { ctx: TcpTestContext; c: Conn } {
  const ctx = new TcpTestContext();
  const c = ctx.passiveOpen({ synOptions: { mss: 1000, wscale: 10 }, window: 32792 });
  c.window = 514;
  c.send({ ack: c.rcvNxt });
  return { ctx, c };
}

const rel = (c: Conn, s: Seg): number => (s.seq - c.stackIss - 1) | 0;

/**
 * the data packets (skbs) the stack sent since index `from`: the NIC cuts a TSO skb into MSS
 * frames that leave at one instant, equal-sized, PSH only on the last (always there: Linux forces
 * PSH on GSO packets); those are put back together, as packetdrill aggregates them
 */
function dataSegs(ctx: TcpTestContext, from = 0): Seg[] {
  const frames = ctx.sent.slice(from).filter((s) => s.payload.length > 0);
  const out: Seg[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    let j = i;
    let len = f.payload.length;
    while (j + 1 < frames.length && !(frames[j]!.flags & TCP_PSH)) {
      const n = frames[j + 1]!;
      if (n.t !== f.t || n.seq !== ((f.seq + len) >>> 0) || frames[j]!.payload.length !== f.payload.length) break;
      len += n.payload.length;
      j++;
    }
    if (j === i) {
      out.push(f);
      continue;
    }
    const payload = new Uint8Array(len);
    let at = 0;
    for (let k = i; k <= j; k++) {
      payload.set(frames[k]!.payload, at);
      at += frames[k]!.payload.length;
    }
    out.push({ ...frames[j]!, seq: f.seq, payload });
    i = j;
  }
  return out;
}

function pattern(n: number, seed = 0): Uint8Array {
  const d = new Uint8Array(n);
  for (let i = 0; i < n; i++) d[i] = (i * 13 + seed) & 0xff;
  return d;
}

describe('write path: MSG_EOR', () => {
  it('a record closed by MSG_EOR is never coalesced with later bytes, on the first send or after an ACK', () => {
    const { ctx, c } = open();
    const sys = ctx.host.sys;
    assert.equal(sys.send(c.fd, pattern(10_400)), 10_400);
    assert.equal(sys.send(c.fd, pattern(400, 1), C.MSG_EOR), 400);
    assert.equal(sys.send(c.fd, pattern(10_000, 2)), 10_000);
    ctx.run(1000);
    const first = dataSegs(ctx);
    assert.deepEqual(first.map((s) => [rel(c, s), s.payload.length]), [[0, 5000], [5000, 5000]], 'cwnd 10, half per packet');
    c.send({ ack: (c.rcvNxt + 10_000) | 0 });
    ctx.run(1000);
    const next = dataSegs(ctx).slice(2);
    // the 800-byte EOR record goes alone, with PSH; the next write starts after it
    assert.deepEqual([rel(c, next[0]!), next[0]!.payload.length], [10_000, 800]);
    assert.ok(next[0]!.flags & TCP_PSH);
    for (const s of dataSegs(ctx)) {
      const a = rel(c, s);
      assert.ok(!(a < 10_800 && a + s.payload.length > 10_800), `segment ${a}+${s.payload.length} crosses the EOR boundary`);
    }
    // every byte arrives in order, exactly once
    const all = dataSegs(ctx).sort((x, y) => rel(c, x) - rel(c, y));
    let at = 0;
    for (const s of all) {
      assert.equal(rel(c, s), at);
      at += s.payload.length;
    }
    assert.equal(at, 20_800);
    ctx.close();
  });
});

describe('write path: sequence space', () => {
  it('an ISN above 2^31 (int32 negative): data and the FIN still go out and are acknowledged', () => {
    let found = false;
    for (let seed = 1; seed < 40 && !found; seed++) {
      const ctx = new TcpTestContext({ seed });
      const c = ctx.passiveOpen({ synOptions: { mss: 1000, wscale: 10 }, window: 32792 });
      if (c.stackIss >>> 0 < 0x80000000) {
        ctx.close();
        continue;
      }
      found = true;
      c.window = 514;
      c.send({ ack: c.rcvNxt });
      assert.equal(ctx.write(c.fd, pattern(3000)), 3000);
      assert.equal(ctx.host.sys.shutdown(c.fd, C.SHUT_WR), 0);
      ctx.run(1000);
      const segs = dataSegs(ctx);
      assert.equal(segs.reduce((n, s) => n + s.payload.length, 0), 3000);
      const fin = ctx.sent.find((s) => s.flags & 0x01);
      assert.ok(fin !== undefined, 'the FIN went out');
      assert.equal(rel(c, fin) + fin.payload.length, 3000);
      c.send({ ack: (c.rcvNxt + 3001) | 0 });
      ctx.run(1000);
      assert.equal(c.tp!.stateName, 'FIN_WAIT2');
      assert.equal(c.tp!.sendBuf.count, 0);
      ctx.close();
    }
    assert.ok(found, 'a seed with an ISN above 2^31');
  });
});

describe('write path: PSH and TSO sizes', () => {
  it('GSO packets carry PSH, a lone MSS inside a write does not, the write\'s last packet does', () => {
    const { ctx, c } = open();
    const sys = ctx.host.sys;
    assert.equal(sys.send(c.fd, pattern(30_500)), 30_500);
    ctx.run(1000);
    let segs = dataSegs(ctx);
    assert.deepEqual(segs.map((s) => s.payload.length), [5000, 5000]);
    for (const s of segs) assert.ok(s.flags & TCP_PSH, 'a GSO packet flushes GRO: PSH');
    // ACK one MSS at a time: cwnd grows by one per ACK; each ACK lets out at most half of cwnd
    const before = ctx.sent.length;
    for (let k = 1; k <= 3; k++) {
      c.send({ ack: (c.rcvNxt + k * 1000) | 0 });
      ctx.run(100);
    }
    segs = dataSegs(ctx, before);
    assert.ok(segs.length > 0);
    for (const s of segs) {
      if (s.payload.length === 1000 && rel(c, s) + 1000 < 30_500) assert.equal(s.flags & TCP_PSH, 0, 'lone MSS inside the write');
      if (s.payload.length > 1000) assert.ok(s.flags & TCP_PSH);
      assert.ok(s.payload.length <= 6000, 'at most half of cwnd per packet');
    }
    // drain: the final packet of the write carries PSH
    for (let i = 0; i < 40 && c.tp!.sndUna !== c.tp!.sendBuf.endSeq; i++) {
      c.send({ ack: c.tp!.sndNxt });
      ctx.run(100);
    }
    const last = dataSegs(ctx).reduce((a, b) => (rel(c, b) > rel(c, a) ? b : a));
    assert.equal(rel(c, last) + last.payload.length, 30_500);
    assert.ok(last.flags & TCP_PSH);
    ctx.close();
  });

  it('MSG_MORE holds a partial segment until the probe timer, which sends it with PSH', () => {
    const { ctx, c } = open();
    const sys = ctx.host.sys;
    assert.equal(sys.setsockopt(c.fd, C.SOL_TCP, C.TCP_NODELAY, 1), 0);
    assert.equal(sys.send(c.fd, pattern(40), C.MSG_MORE), 40);
    ctx.expectNone(150_000, 'MSG_MORE corks 40 bytes');
    const s = c.expectData(40);
    assert.ok(s.flags & TCP_PSH);
    assert.ok(s.t >= 190_000, `sent at ${s.t}`);
    ctx.close();
  });
});

describe('write path: caller-owned memory', () => {
  it('zerocopy bytes go out from the caller\'s pages; the completion runs once, after the ACK frees the last skb', () => {
    const { ctx, c } = open();
    const tcp = ctx.host.kernel.tcp;
    const tp = c.tp!;
    const mem = tcp.mem;
    const user = pattern(3 * PAGE_SIZE, 5);
    const refs: number[] = [];
    for (let off = 0; off < user.length; off += PAGE_SIZE) {
      const ref = mem.allocPage();
      mem.buf(ref).set(user.subarray(off, off + PAGE_SIZE), mem.offset(ref));
      refs.push(ref);
    }
    let done = 0;
    const u: UbufInfo = { refcnt: 1, zerocopy: true, complete: () => { done++; } };
    assert.equal(ctx.write(c.fd, pattern(700, 9)), 700); // copied bytes first
    ctx.run(1000);
    assert.equal(tcpSendmsgBegin(tcp, tp), 0);
    assert.ok(tcpSendSpace(tp) > 0);
    for (const r of refs) assert.ok(tcpSendmsgFrag(tcp, tp, r, 0, PAGE_SIZE, u));
    tcpSendmsgEnd(tcp, tp, 0);
    u.refcnt--; // the sender's own reference: the queue and the skbs hold the rest
    ctx.run(1000);
    const segs = dataSegs(ctx);
    // 700 copied bytes, then the 12288 user bytes; no packet mixes them
    let at = 0;
    const wire = new Uint8Array(700 + user.length);
    for (const s of segs) {
      assert.ok(!(rel(c, s) < 700 && rel(c, s) + s.payload.length > 700), 'copy | zerocopy boundary');
      wire.set(s.payload, rel(c, s));
      at = Math.max(at, rel(c, s) + s.payload.length);
    }
    assert.equal(done, 0, 'not before the ACK');
    // ACK in two steps, then everything
    c.send({ ack: (c.rcvNxt + 700 + 4000) | 0 });
    ctx.run(1000);
    assert.equal(done, 0);
    for (let i = 0; i < 20 && tp.sndUna !== tp.sendBuf.endSeq; i++) {
      c.send({ ack: tp.sndNxt });
      ctx.run(1000);
    }
    for (const s of dataSegs(ctx)) wire.set(s.payload, rel(c, s));
    assert.ok(Buffer.from(wire.subarray(700)).equals(Buffer.from(user)), 'the caller\'s bytes, byte-exact');
    assert.equal(done, 1, 'one completion');
    assert.equal(u.refcnt, 0);
    for (const r of refs) assert.equal(mem.refCount(r), 1, 'only the caller holds its pages');
    // adversarial: a forged ACK beyond anything sent and a stale one change nothing
    c.forge({ ack: (tp.sndNxt + 100_000) | 0 });
    c.forge({ ack: (tp.sndUna - 50_000) | 0 });
    ctx.run(10_000);
    assert.equal(done, 1);
    assert.equal(tp.sendBuf.count, 0);
    assert.equal(tp.sendBuf.wmemQueued, 0);
    for (const r of refs) mem.put(r);
    ctx.close();
  });

  it('close with zerocopy bytes unacknowledged: the queue lets go at once, the completion still runs exactly once', () => {
    const { ctx, c } = open();
    const tcp = ctx.host.kernel.tcp;
    const tp = c.tp!;
    const mem = tcp.mem;
    const ref = mem.allocPage();
    let done = 0;
    const u: UbufInfo = { refcnt: 1, zerocopy: true, complete: () => { done++; } };
    assert.equal(tcpSendmsgBegin(tcp, tp), 0);
    assert.ok(tcpSendmsgFrag(tcp, tp, ref, 0, 3000, u));
    tcpSendmsgEnd(tcp, tp, C.MSG_EOR);
    u.refcnt--;
    ctx.run(1000);
    assert.equal(dataSegs(ctx).length, 1);
    const linger = new Uint8Array(8);
    new DataView(linger.buffer).setInt32(0, 1, true); // l_onoff 1, l_linger 0: close aborts
    assert.equal(ctx.host.sys.setsockopt(c.fd, C.SOL_SOCKET, C.SO_LINGER, linger), 0);
    ctx.host.sys.close(c.fd);
    ctx.run(1_000_000);
    assert.equal(done, 1);
    assert.equal(tp.sendBuf.count, 0);
    assert.equal(mem.refCount(ref), 1);
    mem.put(ref);
    ctx.close();
  });

  it('refuses ranges outside a page and sends nothing for them', () => {
    const { ctx, c } = open();
    const tcp = ctx.host.kernel.tcp;
    const tp = c.tp!;
    const ref = tcp.mem.allocPage();
    assert.equal(tcpSendmsgBegin(tcp, tp), 0);
    assert.equal(tcpSendmsgFrag(tcp, tp, ref, PAGE_SIZE - 10, 20, null), false);
    assert.equal(tcpSendmsgFrag(tcp, tp, ref, 0, 0, null), false);
    tcpSendmsgEnd(tcp, tp, 0);
    ctx.expectNone(500_000, 'nothing queued');
    assert.equal(tp.sendBuf.bytes, 0);
    assert.equal(tcp.mem.refCount(ref), 1);
    tcp.mem.put(ref);
    assert.equal(c.tp!.sndNxt, c.tp!.sndUna);
    assert.equal(TCP_ACK, 0x10);
    ctx.close();
  });
});
