/**
 * Review tests for the TCP state machine: each case reproduces a defect found by reading
 * `src/tcp/proto.ts` (FIN bookkeeping after an RTO, duplicate FINs in CLOSE_WAIT, stale data
 * carrying a FIN, RSTs from a listener, MIB and skb accounting, stalls with data pending). All in
 * virtual time; frames are dropped or held on the wire by wrapping a device's `link` port.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError } from '../../src/index.js';
import type { LinkPort, NetDevice } from '../../src/netdev/index.js';
import { skbFree, type SkBuff } from '../../src/skb/index.js';
import { listen, makePair, PORT, type Pair, connectPair } from '../e2e/helpers.js';

const ACK = 0x10;
const RST = 0x04;
const FIN = 0x01;

interface Seg {
  t: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  len: number;
}

/** TCP header fields of an Ethernet frame, or null for anything else */
function parseSeg(skb: SkBuff, t: number): Seg | null {
  const b = skb.buf;
  const o = skb.data;
  const dv = skb.dv;
  if (dv.getUint16(o + 12) !== 0x0800 || b[o + 23] !== 6) return null;
  const ihl = (b[o + 14]! & 15) * 4;
  const th = o + 14 + ihl;
  const doff = (b[th + 12]! >> 4) * 4;
  return {
    t, seq: dv.getUint32(th + 4), ack: dv.getUint32(th + 8), flags: b[th + 13]!, win: dv.getUint16(th + 14),
    len: dv.getUint16(o + 16) - ihl - doff,
  };
}

/**
 * Intercepts what `dev` transmits: `verdict` says 'pass', 'drop' or 'hold' per segment; held
 * frames go out on `release()`. Every segment offered is recorded in `segs`.
 */
function wireFilter(p: Pair, dev: NetDevice, verdict: (s: Seg) => 'pass' | 'drop' | 'hold') {
  const inner = dev.link!;
  const held: SkBuff[] = [];
  const segs: Seg[] = [];
  const port: LinkPort = {
    transmit(skb, from) {
      const s = parseSeg(skb, p.net.now);
      if (s !== null) {
        segs.push(s);
        const v = verdict(s);
        if (v === 'drop') return skbFree(skb);
        if (v === 'hold') {
          held.push(skb);
          return;
        }
      }
      inner.transmit(skb, from);
    },
  };
  dev.link = port;
  return {
    segs,
    release() {
      for (const skb of held.splice(0)) inner.transmit(skb, dev);
    },
  };
}

async function connected(p: Pair) {
  const { ls, cs, conn } = await connectPair(p);
  return { ls, cs, conn };
}

describe('TCP review', () => {
  it('an ACK covering our FIN after an RTO rewound snd_nxt still completes the close (FIN_WAIT1 → FIN_WAIT2)', async () => {
    const p = makePair();
    const { cs, conn } = await connected(p);
    let holding = true;
    // while `holding`: the peer's ACKs are lost, except the one that covers our FIN, which is
    // held back until our RTO has fired (the head-only retransmission does not carry the FIN)
    const back = wireFilter(p, p.eb, (s) => {
      if (!holding) return 'pass';
      return cs.tcb.finQueued && s.ack === ((cs.tcb.finSndSeq + 1) >>> 0) ? 'hold' : 'drop';
    });
    await cs.send(new Uint8Array(4000));
    cs.shutdown(C.SHUT_WR);
    await p.net.sleep(250_000);
    assert.equal(cs.tcb.stats.timeouts, 1, 'the RTO fired');
    assert.ok(back.segs.some((s) => s.ack === ((cs.tcb.finSndSeq + 1) >>> 0)), 'the ACK of the FIN is held');
    holding = false;
    back.release();
    await p.net.sleep(10_000);
    assert.equal(cs.tcb.stateName, 'FIN_WAIT2');
    let got = 0;
    for (;;) {
      const b = await conn.recv(65536);
      if (b.length === 0) break;
      got += b.length;
    }
    assert.equal(got, 4000);
    conn.close();
    await p.net.sleep(10_000);
    assert.equal(cs.tcb.stateName, 'TIME_WAIT');
    assert.equal(conn.tcb.stateName, 'CLOSE');
    p.net.close();
  });

  it('a retransmitted FIN in CLOSE_WAIT is ACKed (the peer reaches FIN_WAIT2)', async () => {
    const p = makePair();
    const { cs, conn } = await connected(p);
    let dropped = 0;
    // drop the receiver's first ACK of the FIN
    wireFilter(p, p.eb, (s) => (s.flags === ACK && s.len === 0 && dropped++ === 0 ? 'drop' : 'pass'));
    cs.shutdown(C.SHUT_WR);
    await p.net.sleep(1000);
    assert.equal(conn.tcb.stateName, 'CLOSE_WAIT');
    assert.equal(dropped, 1);
    await p.net.sleep(3_000_000);
    assert.equal(cs.tcb.stateName, 'FIN_WAIT2');
    // (Linux sends the FIN's retransmission as a tail loss probe, before the RTO would)
    assert.equal(cs.tcb.stats.retransSegs, 1, 'one FIN retransmission was enough');
    p.net.close();
  });

  it('a retransmission carrying already-received data plus the FIN delivers the FIN', async () => {
    const p = makePair();
    // pins the RTO path: no tail loss probe (it would resend the lone FIN first)
    p.a.kernel.tcp.sysctl.tcp_early_retrans = 0;
    const { cs, conn } = await connected(p);
    let ackDropped = 0;
    let finDropped = 0;
    // the receiver's ACK of the data is lost, and so is the FIN sent on its own
    wireFilter(p, p.eb, (s) => (s.flags === ACK && ackDropped++ === 0 ? 'drop' : 'pass'));
    wireFilter(p, p.ea, (s) => (s.flags === (FIN | ACK) && s.len === 0 && finDropped++ === 0 ? 'drop' : 'pass'));
    await cs.send(new Uint8Array(1000));
    cs.shutdown(C.SHUT_WR);
    await p.net.sleep(3_000_000);
    assert.equal(finDropped, 1, 'the lone FIN was sent once: its retransmission rode with the data');
    assert.equal(cs.tcb.stats.timeouts, 1, 'no second RTO was needed');
    assert.equal(conn.tcb.stateName, 'CLOSE_WAIT', 'the FIN was processed');
    assert.equal(conn.tcb.ofoHead, null);
    assert.equal((await conn.recv(65536)).length, 1000);
    assert.equal((await conn.recv(65536)).length, 0, 'EOF');
    assert.equal(conn.tcb.rcvHead, null, 'no stale skb left in the receive queue');
    assert.equal(cs.tcb.stateName, 'FIN_WAIT2');
    p.net.close();
  });

  it('an ACK segment that reaches a listener (no connection) is reset with seq = its ACK field', async () => {
    const p = makePair();
    const { cs, conn } = await connected(p);
    const fwd = wireFilter(p, p.ea, () => 'pass');
    const back = wireFilter(p, p.eb, () => 'pass');
    // the server loses the connection's state (e.g. a reboot); the listener is still there
    p.b.kernel.tcp.done(conn.tcb);
    const sent = cs.send(new Uint8Array(100));
    await p.net.sleep(100_000);
    const data = fwd.segs.find((s) => s.len === 100)!;
    const rst = back.segs.find((s) => s.flags & RST)!;
    assert.ok(rst !== undefined, 'a RST was sent');
    assert.equal(rst.flags, RST);
    assert.equal(rst.seq, data.ack, 'RST seq = the segment\'s ACK');
    assert.equal(cs.tcb.stateName, 'CLOSE', 'the client accepted the RST');
    await sent;
    await assert.rejects(cs.recv(10), (e: unknown) => e instanceof ErrnoError && e.code === 'ECONNRESET');
    p.net.close();
  });

  it('CurrEstab returns to 0 after orderly closes (active and passive)', async () => {
    const p = makePair();
    const { cs, conn } = await connected(p);
    assert.equal(p.a.kernel.tcp.stats.currEstab, 1);
    assert.equal(p.b.kernel.tcp.stats.currEstab, 1);
    cs.close();
    await p.net.sleep(1000);
    assert.equal(p.a.kernel.tcp.stats.currEstab, 0, 'FIN_WAIT1 is not established');
    assert.equal(p.b.kernel.tcp.stats.currEstab, 1, 'CLOSE_WAIT counts');
    conn.close();
    await p.net.sleep(1000);
    assert.equal(p.b.kernel.tcp.stats.currEstab, 0);
    await p.net.sleep(61_000_000);
    assert.equal(p.a.kernel.tcp.stats.currEstab, 0);
    p.net.close();
  });

  it('closing a listener frees the data queued on children nobody accepted', async () => {
    const p = makePair();
    const ls = listen(p);
    const base = p.b.kernel.skbs.live;
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    await cs.connect('10.0.0.2', PORT);
    await cs.send(new Uint8Array(3000));
    await p.net.sleep(10_000);
    const child = ls.tcb.acceptQueue[0]!;
    assert.ok(child.rcvHead !== null, 'the child holds received data');
    ls.close();
    await p.net.sleep(10_000);
    assert.equal(child.stateName, 'CLOSE');
    assert.equal(child.rcvHead, null, 'receive queue purged');
    assert.equal(p.b.kernel.skbs.live, base, 'no skb leaked');
    p.net.close();
  });

  it('MSG_MORE data with nothing in flight is not held forever (probe timer)', async () => {
    const p = makePair();
    const { cs, conn } = await connected(p);
    await cs.send(new Uint8Array(40), C.MSG_MORE);
    await p.net.sleep(2_000_000);
    assert.equal(conn.tcb.readableBytes, 40, 'the corked bytes went out after the probe timer');
    p.net.close();
  });

  it('data arriving after close() in FIN_WAIT2 aborts the orphan with RST (RFC 1122, Linux)', async () => {
    const p = makePair();
    const { cs, conn } = await connected(p);
    const back = wireFilter(p, p.ea, () => 'pass');
    cs.close();
    await p.net.sleep(1000);
    assert.equal(cs.tcb.stateName, 'FIN_WAIT2');
    await conn.send(new Uint8Array(500));
    await p.net.sleep(1000);
    assert.equal(cs.tcb.stateName, 'CLOSE');
    assert.ok(back.segs.some((s) => s.flags & RST), 'RST sent');
    assert.equal(p.a.kernel.tcp.connectionCount, 0);
    assert.equal(conn.tcb.stateName, 'CLOSE', 'the peer accepted the RST');
    p.net.close();
  });

  it('fast retransmit still works after 2^31 bytes (recover must not go stale)', async () => {
    const p = makePair();
    const { cs, conn } = await connected(p);
    // `recover` starts at the ISS; after 2^31 bytes without a loss the serial comparison
    // snd_una > recover flips. Model a connection 20000 bytes short of that
    // distance and lose a segment sent after 40 KiB.
    const tp = cs.tcb;
    tp.recover = (tp.sndUna - 0x80000000 + 20_000) >>> 0;
    let n = 0;
    wireFilter(p, p.ea, (s) => (s.len > 0 && n++ === 30 ? 'drop' : 'pass'));
    const total = 200_000;
    const sending = cs.send(new Uint8Array(total));
    let got = 0;
    while (got < total) got += (await conn.recv(1 << 20)).length;
    await sending;
    assert.equal(tp.stats.fastRetrans, 1, 'the loss was repaired by fast retransmit');
    assert.equal(tp.stats.timeouts, 0);
    p.net.close();
  });

  it('a peer window smaller than one MSS does not throttle the transfer to one segment per RTO', async () => {
    const p = makePair();
    const ls = p.b.socket(C.AF_INET, C.SOCK_STREAM);
    ls.setsockopt(C.SOL_SOCKET, C.SO_RCVBUF, 1024); // 2304-byte buffer, 1152-byte window
    ls.bind('0.0.0.0', PORT);
    ls.listen(8);
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    const acc = ls.accept();
    await cs.connect('10.0.0.2', PORT);
    const conn = await acc;
    const t0 = p.net.now;
    const total = 64 * 1024;
    const sending = cs.send(new Uint8Array(total));
    let got = 0;
    while (got < total) got += (await conn.recv(1 << 20)).length;
    await sending;
    const took = p.net.now - t0;
    assert.ok(took < 500_000, `64 KiB through a 1152-byte window took ${took} µs`);
    assert.equal(cs.tcb.stats.timeouts, 0);
    p.net.close();
  });
});

