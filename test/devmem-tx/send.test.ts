/**
 * Devmem TX data path end to end (spec §7.2, §7.4, §7.6) through the promise API
 * (`Socket.sendDevmem`): iov_base as dma-buf offsets (non-contiguous pieces, the doc's example),
 * byte-exact delivery read from device memory by the NIC (TSO, loss and retransmission included:
 * a retransmission reads the dma-buf again), completions on the error queue with a byte-exact
 * `sock_extended_err` (SOL_IP/IP_RECVERR or SOL_IPV6/IPV6_RECVERR), ranges merged, and the binding
 * kept alive by in-flight frags after unbind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants as C, ErrnoError, Network, type Socket } from '../../src/index.js';
import type { TxWorld } from './helpers.js';

const PORT = 5201;

interface Tx extends TxWorld {
  cs: Socket;
  conn: Socket;
}

/** dma-buf byte at offset o */
function at(o: number): number {
  return (o * 97 + (o >>> 8)) & 0xff;
}

async function setup(o: { mtu?: number; loss?: number; ipv6?: boolean; size?: number } = {}): Promise<Tx> {
  const net = new Network({ seed: 7 });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 2, mtu: o.mtu ?? 1500 });
  const eb = b.addDevice('eth0', { rxQueues: 2, mtu: o.mtu ?? 1500 });
  net.connect(ea, eb, { gbps: 100, delayUs: 5, loss: o.loss ?? 0 });
  const v6 = o.ipv6 ?? false;
  a.ip.addAddress('eth0', v6 ? 'fd00::1/64' : '10.0.0.1/24', { nodad: true });
  b.ip.addAddress('eth0', v6 ? 'fd00::2/64' : '10.0.0.2/24', { nodad: true });
  const size = o.size ?? 256 * 4096;
  const dmabuf = a.allocDeviceMemory(size);
  const content = new Uint8Array(size);
  for (let i = 0; i < size; i++) content[i] = at(i);
  dmabuf.writeFromHost(0, content);
  const nl = a.netlink();
  const { id } = await nl.netdev.bindTx({ ifindex: ea.ifindex, fd: dmabuf });
  const fam = v6 ? C.AF_INET6 : C.AF_INET;
  const ls = b.socket(fam, C.SOCK_STREAM);
  ls.bind(v6 ? '::' : '0.0.0.0', PORT);
  ls.listen(4);
  const cs = a.socket(fam, C.SOCK_STREAM);
  cs.setsockopt(C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
  const acc = ls.accept();
  await cs.connect(v6 ? 'fd00::2' : '10.0.0.2', PORT);
  const conn = await acc;
  ls.close();
  return { net, a, b, ea, dmabuf, nl, id, cs, conn };
}

async function readN(conn: Socket, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const b = await conn.recv(n - got);
    if (b.length === 0) break;
    out.set(b, got);
    got += b.length;
  }
  return out.subarray(0, got);
}

function expected(pieces: [number, number][]): Uint8Array {
  const n = pieces.reduce((s, [, l]) => s + l, 0);
  const out = new Uint8Array(n);
  let k = 0;
  for (const [off, len] of pieces) for (let i = 0; i < len; i++) out[k++] = at(off + i);
  return out;
}

interface Notif {
  level: number;
  type: number;
  errno: number;
  origin: number;
  code: number;
  lo: number;
  hi: number;
  raw: Uint8Array;
}

/** reads every queued notification (non-blocking) */
async function notifications(s: Socket): Promise<Notif[]> {
  const out: Notif[] = [];
  for (;;) {
    let r;
    try {
      r = await s.recvmsg({ iov: new Uint8Array(0), controlLen: 256, flags: C.MSG_ERRQUEUE | C.MSG_DONTWAIT });
    } catch (e) {
      if (e instanceof ErrnoError && e.code === 'EAGAIN') return out;
      throw e;
    }
    for (const cm of r.cmsgs) {
      if (cm.kind !== 'other') continue;
      const dv = new DataView(cm.data.buffer, cm.data.byteOffset, cm.data.byteLength);
      out.push({
        level: cm.level, type: cm.type, errno: dv.getUint32(0, true), origin: cm.data[4]!, code: cm.data[6]!,
        lo: dv.getUint32(8, true), hi: dv.getUint32(12, true), raw: cm.data,
      });
    }
  }
}

async function settle(t: Tx, us = 50_000): Promise<void> {
  await t.net.sleep(us);
}

describe('devmem TX: sendmsg from device memory', () => {
  it('the doc example: 1024 B at offset 100 and 2048 B at offset 2000, byte-exact; one completion, sock_extended_err byte-exact', async () => {
    const t = await setup();
    const pieces: [number, number][] = [[100, 1024], [2000, 2048]];
    const n = await t.cs.sendDevmem(t.id, pieces.map(([offset, length]) => ({ offset, length })));
    assert.equal(n, 3072);
    const got = await readN(t.conn, 3072);
    assert.deepEqual(got, expected(pieces));
    await settle(t);
    const ns = await notifications(t.cs);
    assert.equal(ns.length, 1);
    const e = ns[0]!;
    assert.deepEqual([e.level, e.type], [0, 11], 'SOL_IP / IP_RECVERR');
    // struct sock_extended_err { u32 errno=0; u8 origin=5; u8 type=0; u8 code=0; u8 pad=0; u32 info=lo; u32 data=hi }
    assert.deepEqual([...e.raw.subarray(0, 16)], [0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(t.dmabuf.stats.dmaBytesRead, 3072, 'the NIC read each byte once');
    assert.equal(t.dmabuf.stats.hostBytesRead, 0, 'the application never copied out');
    await t.net.close();
  });

  it('IPv6: the completion comes as SOL_IPV6 / IPV6_RECVERR; ids count up per send', async () => {
    const t = await setup({ ipv6: true });
    for (let i = 0; i < 3; i++) {
      assert.equal(await t.cs.sendDevmem(t.id, { offset: i * 5000, length: 3000 }), 3000);
      await readN(t.conn, 3000);
      await settle(t);
      const ns = await notifications(t.cs);
      assert.equal(ns.length, 1);
      assert.deepEqual([ns[0]!.level, ns[0]!.type, ns[0]!.origin, ns[0]!.errno, ns[0]!.code], [41, 25, 5, 0, 0]);
      assert.deepEqual([ns[0]!.lo, ns[0]!.hi], [i, i]);
    }
    await t.net.close();
  });

  it('completions of back-to-back sends merge into one range [lo, hi]', async () => {
    const t = await setup();
    for (let i = 0; i < 4; i++) assert.equal(await t.cs.sendDevmem(t.id, { offset: i * 4096, length: 1000 }, C.MSG_DONTWAIT), 1000);
    await readN(t.conn, 4000);
    await settle(t);
    const ns = await notifications(t.cs);
    const ids = ns.flatMap((x) => Array.from({ length: x.hi - x.lo + 1 }, (_, k) => x.lo + k));
    assert.deepEqual(ids, [0, 1, 2, 3], 'every id once, in order');
    assert.ok(ns.length < 4, `merged: ${JSON.stringify(ns.map((x) => [x.lo, x.hi]))}`);
    await t.net.close();
  });

  it('many 1-byte iovecs in distinct pages: more than MAX_SKB_FRAGS pieces, split across skbs, byte-exact', async () => {
    const t = await setup();
    const pieces: [number, number][] = [];
    for (let i = 0; i < 60; i++) pieces.push([i * 4096 + (i % 7), 1 + (i % 3)]);
    const total = pieces.reduce((s, [, l]) => s + l, 0);
    assert.equal(await t.cs.sendDevmem(t.id, pieces.map(([offset, length]) => ({ offset, length }))), total);
    assert.deepEqual(await readN(t.conn, total), expected(pieces));
    await t.net.close();
  });

  for (const mtu of [1500, 65535]) {
    it(`~1 MB across page boundaries at MTU ${mtu} (TSO by frag reference), byte-exact`, async () => {
      const t = await setup({ mtu });
      const pieces: [number, number][] = [[4096 - 7, 600_000], [650_000, 398_000]];
      const total = pieces.reduce((s, [, l]) => s + l, 0);
      const send = t.cs.sendDevmem(t.id, pieces.map(([offset, length]) => ({ offset, length })));
      const got = await readN(t.conn, total);
      assert.equal(await send, total);
      assert.deepEqual(got, expected(pieces));
      await t.net.close();
    });
  }

  it('5% loss each way: retransmissions read device memory again; byte-exact; one completion per send', async () => {
    const t = await setup({ loss: 0.05 });
    const pieces: [number, number][] = [[0, 300_000], [400_000, 200_000]];
    const total = 500_000;
    const send = (async () => {
      for (const [offset, length] of pieces) assert.equal(await t.cs.sendDevmem(t.id, { offset, length }), length);
    })();
    const got = await readN(t.conn, total);
    await send;
    assert.deepEqual(got, expected(pieces));
    // everything acknowledged
    for (let i = 0; i < 100 && t.cs.tcpInfo().sndQueued > 0; i++) await settle(t, 100_000);
    assert.ok(t.a.snmp().tcp.retransSegs > 0, 'the loss caused retransmissions');
    assert.ok(t.dmabuf.stats.dmaBytesRead > total, `retransmissions read the dma-buf again (${t.dmabuf.stats.dmaBytesRead})`);
    const ns = await notifications(t.cs);
    const ids = ns.flatMap((x) => Array.from({ length: x.hi - x.lo + 1 }, (_, k) => x.lo + k));
    assert.deepEqual(ids, [0, 1]);
    await t.net.close();
  });

  it('a send larger than SO_SNDBUF waits for space (blocking) and completes byte-exact', async () => {
    const t = await setup({ size: 4 << 20 });
    t.cs.setsockopt(C.SOL_SOCKET, C.SO_SNDBUF, 64 * 1024);
    const total = (4 << 20) - 4096;
    const send = t.cs.sendDevmem(t.id, { offset: 4096, length: total });
    const got = await readN(t.conn, total);
    assert.equal(await send, total);
    assert.deepEqual(got, expected([[4096, total]]));
    await t.net.close();
  });

  it('non-blocking: a full send buffer gives EAGAIN with nothing queued, or a short count', async () => {
    const t = await setup({ size: 4 << 20 });
    t.cs.setsockopt(C.SOL_SOCKET, C.SO_SNDBUF, 16 * 1024);
    let queued = 0;
    let eagain = false;
    for (let i = 0; i < 64 && !eagain; i++) {
      try {
        queued += await t.cs.sendDevmem(t.id, { offset: queued, length: 64 * 1024 }, C.MSG_DONTWAIT);
      } catch (e) {
        assert.ok(e instanceof ErrnoError && e.code === 'EAGAIN', String(e));
        eagain = true;
      }
    }
    assert.ok(eagain, `the send buffer filled (queued ${queued})`);
    assert.deepEqual(await readN(t.conn, queued), expected([[0, queued]]));
    await t.net.close();
  });

  it('unbind with bytes in flight: the frags keep the binding alive, the data arrives, then it is freed', async () => {
    const t = await setup({ loss: 0.02 });
    const binding = t.a.kernel.bindings.lookup(t.id)!;
    assert.equal(await t.cs.sendDevmem(t.id, { offset: 0, length: 200_000 }, C.MSG_DONTWAIT), 200_000);
    t.nl.close();
    // new sends fail at once (the id is gone) …
    await assert.rejects(t.cs.sendDevmem(t.id, { offset: 0, length: 10 }), (e: ErrnoError) => e.code === 'EINVAL');
    assert.equal(binding.freed, false, '… but the queued frags hold the binding');
    assert.deepEqual(await readN(t.conn, 200_000), expected([[0, 200_000]]));
    for (let i = 0; i < 100 && !binding.freed; i++) await settle(t, 100_000);
    assert.equal(binding.freed, true, 'the last frag reference freed it');
    for (const ref of binding.txVec!) assert.equal(t.a.kernel.mem.refCount(ref), 0);
    await t.net.close();
  });
});
