import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError } from '../../src/index.js';
import type { NetDevice, PacketTap } from '../../src/netdev/index.js';
import type { SkBuff } from '../../src/skb/index.js';
import { TcpOptions, parseTcpOptions } from '../../src/wire/tcp.js';
import { listen, makePair, patternSender, connectPair } from '../e2e/helpers.js';

interface Seg {
  t: number;
  dir: 'rx' | 'tx';
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  len: number;
  mss: number;
  wscale: number;
  sackOk: boolean;
  ts: boolean;
  tsVal: number;
  tsEcr: number;
}

/** records every TCP segment a device sends or receives (headers only) */
function tcpTap(dev: NetDevice, now: () => number): Seg[] {
  const segs: Seg[] = [];
  const opts = new TcpOptions();
  const tap: PacketTap = {
    tap(skb: SkBuff, dir) {
      const b = skb.buf;
      const o = skb.data;
      const dv = skb.dv;
      if (dv.getUint16(o + 12) !== 0x0800 || b[o + 23] !== 6) return;
      const ihl = (b[o + 14]! & 15) * 4;
      const t = o + 14 + ihl;
      const doff = (b[t + 12]! >> 4) * 4;
      parseTcpOptions(b, t + 20, doff - 20, opts);
      segs.push({
        t: now(), dir, sport: dv.getUint16(t), dport: dv.getUint16(t + 2), seq: dv.getUint32(t + 4), ack: dv.getUint32(t + 8),
        flags: b[t + 13]!, win: dv.getUint16(t + 14), len: dv.getUint16(o + 16) - ihl - doff, mss: opts.mss, wscale: opts.wscale,
        sackOk: opts.sackPermitted, ts: opts.hasTimestamp, tsVal: opts.tsVal, tsEcr: opts.tsEcr,
      });
    },
  };
  dev.taps.push(tap);
  return segs;
}

const SYN = 0x02;
const ACK = 0x10;
const RST = 0x04;
const FIN = 0x01;

describe('TCP behaviour', () => {
  it('handshake: SYN carries MSS 1460 and window scale, SYN-ACK echoes them, windows never scaled in SYNs', async () => {
    const p = makePair();
    const segs = tcpTap(p.ea, () => p.net.now);
    const ls = listen(p);
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    const acc = ls.accept();
    await cs.connect('10.0.0.2', 5201);
    await acc;
    const [syn, synack, ack] = segs;
    assert.equal(syn!.dir, 'tx');
    assert.equal(syn!.flags, SYN);
    assert.equal(syn!.mss, 1460);
    assert.equal(syn!.wscale, 7);
    assert.equal(syn!.win, 65535);
    assert.equal(synack!.flags, SYN | ACK);
    assert.equal(synack!.ack, (syn!.seq + 1) >>> 0);
    assert.equal(synack!.mss, 1460);
    assert.equal(synack!.wscale, 7);
    // SACK-permitted and timestamps offered and echoed (RFC 2018, RFC 7323); the third segment
    // and every later one carries the timestamp option, echoing the peer's TSval
    assert.ok(syn!.sackOk && syn!.ts && syn!.tsEcr === 0);
    assert.ok(synack!.sackOk && synack!.ts && synack!.tsEcr === syn!.tsVal);
    assert.ok(ack!.ts && !ack!.sackOk && ack!.tsEcr === synack!.tsVal);
    assert.equal(ack!.flags, ACK);
    assert.equal(ack!.seq, (syn!.seq + 1) >>> 0);
    assert.equal(ack!.ack, (synack!.seq + 1) >>> 0);
    // the send MSS: 1460 less the 12 bytes of the timestamp option (Linux mss_cache)
    assert.equal(cs.getsockopt(C.SOL_TCP, C.TCP_MAXSEG), 1448);
    p.net.close();
  });

  it('a segment for a closed port gets RST|ACK with ack = seq + len', async () => {
    const p = makePair();
    const segs = tcpTap(p.ea, () => p.net.now);
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    await assert.rejects(cs.connect('10.0.0.2', 4444), (e: unknown) => e instanceof ErrnoError && e.errno === 111);
    const rst = segs.find((s) => s.dir === 'rx' && s.flags & RST)!;
    const syn = segs[0]!;
    assert.equal(rst.flags, RST | ACK);
    assert.equal(rst.seq, 0);
    assert.equal(rst.ack, (syn.seq + 1) >>> 0);
    assert.equal(p.b.kernel.tcp.stats.outRsts, 1);
    p.net.close();
  });

  it('SYN retransmits with exponential backoff from 1 s, then ETIMEDOUT', async () => {
    const p = makePair({ wire: { loss: 0 } });
    p.a.ip.addNeighbour('eth0', '10.0.0.9', 0x02aabbccddee);
    const segs = tcpTap(p.ea, () => p.net.now);
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    const t0 = p.net.now;
    await assert.rejects(cs.connect('10.0.0.9', 80), (e: unknown) => e instanceof ErrnoError && e.code === 'ETIMEDOUT');
    const times = segs.filter((s) => s.dir === 'tx' && s.flags === SYN).map((s) => (s.t - t0) / 1e6);
    assert.deepEqual(times, [0, 1, 3, 7, 15, 31, 63]);
    assert.equal(p.net.now - t0, 127_000_000);
    p.net.close();
  });

  it('data retransmission: a lost segment is repaired by fast retransmit, not by the RTO', async () => {
    // seed chosen so that the wire drops one data segment in the middle of the flow
    const p = makePair({ seed: 4, wire: { loss: 0.002 } });
    const ls = listen(p);
    const sender = patternSender(p, 512 * 1024);
    const conn = await ls.accept();
    let n = 0;
    for (;;) {
      const b = await conn.recv(1 << 20);
      if (b.length === 0) break;
      n += b.length;
    }
    await sender;
    assert.equal(n, 512 * 1024);
    const lost = p.net.wires[0]!.stats.aToB.lost;
    const a = p.a.kernel.tcp.stats;
    assert.ok(lost >= 1, `no loss with this seed (${lost})`);
    assert.ok(a.retransSegs >= lost);
    assert.ok(a.fastRetrans >= 1, 'fast retransmit repaired the loss');
    assert.equal(a.timeouts, 0, 'no RTO was needed');
    p.net.close();
  });

  it('zero window: the sender probes while the receiver does not read, then resumes', async () => {
    const p = makePair();
    const segs = tcpTap(p.ea, () => p.net.now);
    const { cs, conn } = await connectPair(p);
    conn.setsockopt(C.SOL_SOCKET, C.SO_RCVBUF, 32 * 1024); // 64 KiB buffer, 32 KiB window
    const data = new Uint8Array(200 * 1024);
    const sending = cs.send(data);
    await p.net.sleep(3_000_000);
    const probes = segs.filter((s) => s.dir === 'tx' && s.len === 0 && s.flags === ACK && s.t > 10_000);
    assert.ok(probes.length >= 2, `window probes: ${probes.length}`);
    const zeroWins = segs.filter((s) => s.dir === 'rx' && s.win === 0);
    assert.ok(zeroWins.length > 0, 'the receiver advertised a zero window');
    let got = 0;
    while (got < data.length) got += (await conn.recv(1 << 20)).length;
    await sending;
    assert.equal(got, data.length);
    p.net.close();
  });

  it('orderly close: FIN/ACK both ways, active closer ends in TIME_WAIT then CLOSE after 60 s', async () => {
    const p = makePair();
    const segs = tcpTap(p.ea, () => p.net.now);
    const { cs, conn } = await connectPair(p);
    cs.close();
    assert.equal((await conn.recv(10)).length, 0);
    conn.close();
    await p.net.sleep(1000);
    assert.equal(cs.tcb.stateName, 'TIME_WAIT');
    const fins = segs.filter((s) => s.flags & FIN);
    assert.equal(fins.length, 2);
    await p.net.sleep(60_000_000);
    assert.equal(cs.tcb.stateName, 'CLOSE');
    assert.equal(p.a.kernel.tcp.connectionCount, 0);
    assert.equal(p.b.kernel.tcp.connectionCount, 0);
    p.net.close();
  });

  it('closing with unread data sends RST; the peer sees ECONNRESET', async () => {
    const p = makePair();
    const { cs, conn } = await connectPair(p);
    await cs.send(new Uint8Array(1000));
    await conn.readable();
    conn.close();
    await p.net.sleep(1000);
    await assert.rejects(cs.recv(10), (e: unknown) => e instanceof ErrnoError && e.code === 'ECONNRESET');
    p.net.close();
  });

  it('socket errors: EADDRINUSE (also for a dual-stack ::), ENOTCONN, EPIPE after shutdown', async () => {
    const p = makePair();
    const ls = listen(p);
    const other = p.b.socket(C.AF_INET, C.SOCK_STREAM);
    assert.throws(() => other.bind('0.0.0.0', 5201), (e: unknown) => e instanceof ErrnoError && e.code === 'EADDRINUSE');
    // `::` without IPV6_V6ONLY covers IPv4: it overlaps the 0.0.0.0 listener
    assert.throws(() => p.b.socket(C.AF_INET6, C.SOCK_STREAM).bind('::', 5201), (e: unknown) => e instanceof ErrnoError && e.code === 'EADDRINUSE');
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    await assert.rejects(cs.recv(10), (e: unknown) => e instanceof ErrnoError && e.code === 'ENOTCONN');
    const acc = ls.accept();
    await cs.connect('10.0.0.2', 5201);
    await acc;
    cs.shutdown(C.SHUT_WR);
    await assert.rejects(cs.send(new Uint8Array(1)), (e: unknown) => e instanceof ErrnoError && e.code === 'EPIPE');
    cs.close();
    await assert.rejects(cs.send(new Uint8Array(1)), (e: unknown) => e instanceof ErrnoError && e.code === 'EBADF');
    p.net.close();
  });
});

describe('TCP loss recovery with GRO', () => {
  it('out-of-order GRO trains get one duplicate ACK per segment, so loss is repaired by fast retransmit, not RTOs', async () => {
    for (const seed of [1, 2, 3]) {
      const p = makePair({ seed, wire: { loss: 0.02 } });
      const ls = listen(p);
      const sender = patternSender(p, 2 << 20);
      const conn = await ls.accept();
      let n = 0;
      for (;;) {
        const b = await conn.recv(1 << 20);
        if (b.length === 0) break;
        n += b.length;
      }
      await sender;
      assert.equal(n, 2 << 20);
      const { fastRetrans, timeouts } = p.a.kernel.tcp.stats;
      assert.ok(fastRetrans >= 10, `seed ${seed}: ${fastRetrans} fast retransmits`);
      assert.ok(timeouts * 3 < fastRetrans, `seed ${seed}: ${timeouts} RTOs against ${fastRetrans} fast retransmits`);
      p.net.close();
    }
  });
});
