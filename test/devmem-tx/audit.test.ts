/**
 * Adversarial cases of devmem TX found by the issue-8 audit: iov_base values no C pointer can
 * have, the user-address limit of import_iovec, a leading empty iovec, the control-buffer
 * allocation (sock_kmalloc), SO_ZEROCOPY turned off again, completion ids across 2^32, and a
 * blocking send whose socket is closed while it waits. Every refused call leaves the binding's
 * reference count, the write queue and the notification counter as they were.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants as C, ErrnoError, Network } from '../../src/index.js';
import { TcpSockFile, decodeSockExtendedErr, decodeCmsgs, MsgHdr, devmemTxControl as devmemTxControlBytes } from '../../src/socket/index.js';
import { devSend, eq, txSetup } from './helpers.js';

type Setup = Awaited<ReturnType<typeof txSetup>>;

function sockOf(s: Setup): TcpSockFile {
  const f = s.a.sys.sock(s.cfd);
  assert.ok(f instanceof TcpSockFile);
  return f;
}

function refs(s: Setup): number {
  return s.a.kernel.bindings.lookup(s.id)!.refCount;
}

function outq(s: Setup): number {
  return s.a.sys.ioctl(s.cfd, C.SIOCOUTQ);
}

/**
 * Two hosts on a 10 Gb/s link, a TX binding of `dmabufSize` bytes on a, and an accepted
 * connection a -> b:`port` whose sender has SO_ZEROCOPY and a 32 KiB send buffer (promise API).
 */
async function blockingPair(seed: number, dmabufSize: number, port: number) {
  const net = new Network({ seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 1 });
  const eb = b.addDevice('eth0', { rxQueues: 1 });
  net.connect(ea, eb, { gbps: 10, delayUs: 10 });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  const dmabuf = a.allocDeviceMemory(dmabufSize);
  const nl = a.netlink();
  const { id } = await nl.netdev.bindTx({ ifindex: ea.ifindex, fd: dmabuf });
  const binding = a.kernel.bindings.lookup(id)!;
  const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', port);
  ls.listen(1);
  const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
  cs.setsockopt(C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
  cs.setsockopt(C.SOL_SOCKET, C.SO_SNDBUF, 32 * 1024);
  const acc = ls.accept();
  await cs.connect('10.0.0.2', port);
  const conn = await acc;
  return { net, a, id, binding, nl, cs, conn };
}

/** every zero-copy notification queued on `fd` as [lo, hi, code] */
function notifs(s: Setup): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (;;) {
    const m = new MsgHdr().setRecv(new Uint8Array(0), new Uint8Array(128));
    const r = s.a.sys.recvmsg(s.cfd, m, C.MSG_ERRQUEUE);
    if (r < 0) {
      eq(r, 'EAGAIN');
      return out;
    }
    for (const c of decodeCmsgs(m.control!.subarray(0, m.controlLen))) {
      if (c.kind !== 'other') continue;
      const e = decodeSockExtendedErr(c.data);
      assert.ok(e !== null);
      assert.equal(e.origin, C.SO_EE_ORIGIN_ZEROCOPY);
      out.push([e.info, e.data, e.code]);
    }
  }
}

describe('audit: iov_base values no pointer can have', () => {
  it('fractional, NaN, infinite or negative offsets: EFAULT, nothing queued, no id used', async () => {
    const s = await txSetup();
    const f = sockOf(s);
    const before = refs(s);
    const key = f.zc.zckey;
    for (const base of [100.5, Number.NaN, Number.POSITIVE_INFINITY, -1, -4096]) {
      eq(devSend(s.a, s.cfd, s.id, [[base, 10]]), 'EFAULT', `iov_base ${base}`);
      assert.equal(outq(s), 0, `nothing queued for ${base}`);
    }
    assert.equal(f.zc.zckey, key, 'every id given back');
    assert.equal(refs(s), before, 'no binding reference left behind');
    // a valid send still works afterwards
    eq(devSend(s.a, s.cfd, s.id, [[100, 10]]), 10);
  });

  it('import_iovec: an iovec past the user address limit fails the whole call (EFAULT, no short count)', async () => {
    const s = await txSetup();
    // Linux checks access_ok on every iovec before anything is sent: [0,5] is not sent either
    eq(devSend(s.a, s.cfd, s.id, [[0, 5], [2 ** 47, 5]]), 'EFAULT');
    assert.equal(outq(s), 0);
    // inside the address space but past the dma-buf: the fault trims the skb being filled
    eq(devSend(s.a, s.cfd, s.id, [[0, 5], [2 ** 40, 5]]), 'EFAULT');
    assert.equal(outq(s), 0);
  });

  it('a leading empty iovec is looked up (zerocopy_fill_skb_from_devmem visits it); later empty ones are skipped', async () => {
    const s = await txSetup({ dmabufSize: 16 * 4096 });
    const size = 16 * 4096;
    eq(devSend(s.a, s.cfd, s.id, [[size, 0], [0, 10]]), 'EFAULT', 'leading empty iovec past the end');
    assert.equal(outq(s), 0);
    eq(devSend(s.a, s.cfd, s.id, [[0, 10], [size, 0], [10, 10]]), 20, 'an empty iovec in the middle is skipped');
    eq(devSend(s.a, s.cfd, s.id, [[100, 0], [0, 10]]), 10, 'a leading empty iovec inside the dma-buf is harmless');
  });
});

describe('audit: the control buffer (sock_kmalloc)', () => {
  it('a control buffer over 36 bytes needs omem + len < optmem_max (ENOBUFS at exactly optmem_max)', async () => {
    const s = await txSetup();
    const f = sockOf(s);
    const q = f.zc.errq;
    const mk = (n: number): Uint8Array => {
      const b = new Uint8Array(n);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, 20, true);
      dv.setInt32(8, C.SOL_SOCKET, true);
      dv.setInt32(12, C.SCM_DEVMEM_DMABUF, true);
      dv.setUint32(16, s.id, true);
      // the rest is one cmsg of another level (skipped by sock_cmsg_send)
      if (n > 40) {
        dv.setUint32(24, n - 24, true);
        dv.setInt32(32, C.SOL_IP, true);
        dv.setInt32(36, 1, true);
      }
      return b;
    };
    eq(devSend(s.a, s.cfd, mk(q.optmemMax), [[0, 10]]), 'ENOBUFS', 'exactly optmem_max');
    eq(devSend(s.a, s.cfd, mk(q.optmemMax - 1 - q.omem), [[0, 10]]), 10, 'one byte under the room left');
    // outstanding notifications use the same budget
    const keep = q.omem;
    q.omem = q.optmemMax - 100;
    eq(devSend(s.a, s.cfd, mk(200), [[0, 10]]), 'ENOBUFS', 'omem in use');
    // the on-stack buffer (36 bytes) needs no allocation
    q.omem = q.optmemMax;
    eq(devSend(s.a, s.cfd, mk(24), [[0, 10]]), 'ENOBUFS', '… but the notification still needs omem');
    q.omem = keep;
  });
});

describe('audit: SO_ZEROCOPY turned off again', () => {
  it('devmem sends fail EINVAL; earlier completions still arrive; plain MSG_ZEROCOPY copies with no notification', async () => {
    const s = await txSetup();
    const f = sockOf(s);
    eq(devSend(s.a, s.cfd, s.id, [[0, 1000]]), 1000);
    eq(s.a.sys.setsockopt(s.cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, 0), 0);
    const before = refs(s);
    eq(devSend(s.a, s.cfd, s.id, [[0, 1000]]), 'EINVAL');
    assert.equal(refs(s), before);
    eq(s.a.sys.send(s.cfd, new Uint8Array(100), C.MSG_ZEROCOPY), 100);
    s.net.runFor(200_000);
    assert.deepEqual(notifs(s), [[0, 0, 0]], 'only the devmem send is reported, without COPIED');
    assert.equal(f.zc.zckey, 1, 'the copied send took no id');
    assert.equal(f.zc.live, 0);
  });
});

describe('audit: completion ids across 2^32', () => {
  it('devmem sends numbered 2^32 − 1, 0, 1 complete as one range [2^32 − 1, 1]', async () => {
    const s = await txSetup();
    const f = sockOf(s);
    f.zc.zckey = 0xffffffff;
    for (let i = 0; i < 3; i++) {
      eq(devSend(s.a, s.cfd, s.id, [[i * 4096, 3000]]), 3000);
      s.net.runFor(100_000);
    }
    assert.deepEqual(notifs(s), [[0xffffffff, 1, 0]]);
    assert.equal(f.zc.zckey, 2);
  });
});

describe('audit: forged cmsg_len', () => {
  it('a 64-bit cmsg_len with high bits set is not CMSG_LEN(4) (EINVAL), even though its low 32 bits are 20', async () => {
    const s = await txSetup();
    const ctl = devmemTxControlBytes(s.id);
    new DataView(ctl.buffer).setUint32(4, 1, true);
    eq(devSend(s.a, s.cfd, ctl, [[0, 10]]), 'EINVAL');
    assert.equal(outq(s), 0);
  });
});

describe('audit: unbind while a blocking devmem send waits', () => {
  it('the call keeps its binding reference and finishes the send from the unbound binding (net_devmem_get_binding once per call)', async () => {
    const { net, id, binding, nl, cs, conn } = await blockingPair(5, 1 << 20, 7001);
    const total = 1 << 20;
    const send = cs.sendDevmem(id, { offset: 0, length: total });
    nl.close();
    let got = 0;
    while (got < total) {
      const chunk = await conn.recv(65536);
      if (chunk.length === 0) break;
      got += chunk.length;
    }
    assert.equal(await send, total);
    assert.equal(got, total);
    await assert.rejects(cs.sendDevmem(id, { offset: 0, length: 1 }), (e: ErrnoError) => e.code === 'EINVAL');
    cs.close();
    conn.close();
    await net.sleep(2_000_000);
    assert.equal(binding.freed, true);
    await net.close();
  });
});

describe('audit: close during a blocking devmem send', () => {
  it('the waiting call fails EBADF and drops its binding and notification references; nothing leaks', async () => {
    const { net, a, id, binding, nl, cs, conn } = await blockingPair(3, 4 << 20, 7000);
    conn.setsockopt(C.SOL_SOCKET, C.SO_RCVBUF, 16 * 1024);
    const zc = (a.sys.sock(cs.fd) as TcpSockFile).zc;
    // the receiver never reads: the send fills the window and the send buffer, then waits
    const send = cs.sendDevmem(id, { offset: 0, length: 2 << 20 });
    let settled = false;
    send.then(() => (settled = true), () => (settled = true));
    await net.sleep(200_000);
    assert.equal(settled, false, 'the send is waiting for space');
    assert.ok(binding.refCount > 1, 'the waiting call and the queued frags hold the binding');
    cs.close();
    await assert.rejects(send, (e: ErrnoError) => e.code === 'EBADF');
    // the peer goes away too (its unread data: RST); the orphan's queue is purged
    conn.close();
    await net.sleep(5_000_000);
    nl.close();
    await net.sleep(1_000_000);
    assert.equal(zc.live, 0, 'every notification completed');
    for (const ref of binding.txVec!) assert.equal(a.kernel.mem.refCount(ref), 0);
    assert.equal(binding.freed, true, 'the binding is freed');
    await net.close();
  });
});

describe('audit: one frag slot per devmem piece', () => {
  it('contiguous iovecs in one net_iov are not coalesced (zerocopy_fill_skb_from_devmem): 17 pieces per skb', async () => {
    const s = await txSetup();
    const f = sockOf(s);
    const pairs: [number, number][] = [];
    for (let i = 0; i < 34; i++) pairs.push([i * 3, 3]);
    eq(devSend(s.a, s.cfd, s.id, pairs, C.MSG_ZEROCOPY | C.MSG_MORE), 102);
    const lens: number[] = [];
    for (let r = f.tp.sendBuf.head; r !== null; r = r.next) lens.push(r.len);
    assert.deepEqual(lens, [51, 51], 'two skbs of 17 three-byte frags');
  });
});

describe('audit: SO_TIMESTAMPING on devmem sends', () => {
  it('tcp_tx_timestamp keys the last byte of each devmem send: SCHED, SND, ACK stamps next to the completion', async () => {
    const s = await txSetup();
    const TX = C.SOF_TIMESTAMPING_TX_SCHED | C.SOF_TIMESTAMPING_TX_SOFTWARE | C.SOF_TIMESTAMPING_TX_ACK |
      C.SOF_TIMESTAMPING_SOFTWARE | C.SOF_TIMESTAMPING_OPT_ID;
    eq(s.a.sys.setsockopt(s.cfd, C.SOL_SOCKET, C.SO_TIMESTAMPING, TX), 0);
    eq(devSend(s.a, s.cfd, s.id, [[0, 3000]]), 3000);
    eq(devSend(s.a, s.cfd, s.id, [[8192, 100], [20000, 400]]), 500);
    s.net.runFor(200_000);
    const stamps: string[] = [];
    const zc: [number, number][] = [];
    for (;;) {
      const m = new MsgHdr().setRecv(new Uint8Array(0), new Uint8Array(256));
      if (s.a.sys.recvmsg(s.cfd, m, C.MSG_ERRQUEUE) < 0) break;
      for (const c of decodeCmsgs(m.control!.subarray(0, m.controlLen))) {
        if (c.kind !== 'other' || c.level !== C.SOL_IP) continue;
        const e = decodeSockExtendedErr(c.data);
        assert.ok(e !== null);
        if (e.origin === C.SO_EE_ORIGIN_ZEROCOPY) zc.push([e.info, e.data]);
        else stamps.push(`${e.info}:${e.data}`);
      }
    }
    // stamps queued between them: the completions cannot merge into the tail
    assert.deepEqual(zc, [[0, 0], [1, 1]], 'one completion per send');
    for (const want of ['1:2999', '0:2999', '2:2999', '1:3499', '0:3499', '2:3499']) assert.ok(stamps.includes(want), `${want} in ${stamps.join(' ')}`);
    assert.equal(stamps.length, 6);
  });
});

describe('audit: netdev unregister with devmem bytes in flight', () => {
  it('later sends fail ENODEV; the queued frags are never sent elsewhere; close + unbind give every reference back', async () => {
    const s = await txSetup({ dmabufSize: 128 * 4096 });
    const binding = s.a.kernel.bindings.lookup(s.id)!;
    eq(devSend(s.a, s.cfd, s.id, [[0, 200_000]], C.MSG_ZEROCOPY | C.MSG_DONTWAIT), 200_000);
    s.a.kernel.unregisterDevice('eth0');
    eq(devSend(s.a, s.cfd, s.id, [[0, 10]]), 'ENODEV');
    s.net.runFor(2_000_000);
    assert.ok(binding.refCount > 1, 'the queued frags still hold the binding');
    // abort (SO_LINGER 0): the write queue is purged
    const lg = new Uint8Array(8);
    new DataView(lg.buffer).setInt32(0, 1, true);
    eq(s.a.sys.setsockopt(s.cfd, C.SOL_SOCKET, C.SO_LINGER, lg), 0);
    const f = sockOf(s);
    eq(s.a.sys.close(s.cfd), 0);
    s.nl.close();
    s.net.runFor(1_000_000);
    assert.equal(f.zc.live, 0, 'the completion ran (dropped: the socket is closed)');
    for (const ref of binding.txVec!) assert.equal(s.a.kernel.mem.refCount(ref), 0);
    assert.equal(binding.freed, true);
  });
});
