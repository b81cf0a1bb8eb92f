/**
 * MSG_ZEROCOPY over TCP end to end (two simulated hosts, syscall level): the bytes go out of the
 * caller's buffer without a copy, the notification arrives once, only after the ACK and after the
 * NIC let go (held frames, dropped ACKs, retransmissions), every pinned page is released, close
 * drops notifications but not releases, ENOBUFS at optmem_max, and the error-queue syscalls.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../src/index.js';
import { skbCopyBits, skbPut, type SkBuff } from '../../src/skb/index.js';
import { MsgHdr } from '../../src/socket/sys/msghdr.js';
import { SockOptVal } from '../../src/socket/sys/sock.js';
import { drainZc, readZc, recvAll, run, zcPair, zcSend, type ZcPair } from './helpers.js';

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function enableZc(z: ZcPair): void {
  assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
}

const pinned = (z: ZcPair): number => z.p.a.kernel.mem.host.userPagesPinned;

describe('MSG_ZEROCOPY over TCP', () => {
  it('delivers the bytes, then one notification [0,0] without COPIED; every pinned page released', () => {
    const z = zcPair();
    enableZc(z);
    const buf = pattern(100_000);
    assert.equal(zcSend(z, buf), buf.length);
    assert.ok(pinned(z) > 0, 'the caller pages are referenced by the write queue');
    run(z.p, 200_000);
    assert.deepEqual(recvAll(z), buf);
    assert.deepEqual(drainZc(z), [[0, 0, 0]]);
    assert.equal(pinned(z), 0);
    assert.equal(z.cs.zc.live, 0);
  });

  it('is zero-copy: bytes the caller changes before they are transmitted go out changed', () => {
    const z = zcPair();
    enableZc(z);
    // nothing leaves A yet: the first segments are held at the NIC, the rest wait for the window
    z.ab.mode = 'hold';
    const buf = new Uint8Array(200_000).fill(1);
    assert.equal(zcSend(z, buf), buf.length);
    buf.fill(2, 150_000); // not yet sent: the write queue references these bytes, not a copy
    z.ab.mode = 'pass';
    z.ab.release();
    run(z.p, 500_000);
    const got = recvAll(z);
    assert.equal(got.length, buf.length);
    assert.equal(got[0], 1);
    assert.equal(got[199_999], 2, 'a copy would have sent the old bytes');
    assert.deepEqual(drainZc(z), [[0, 0, 0]]);
    assert.equal(pinned(z), 0);
  });

  it('no notification while the NIC holds the frames, even after the ACK comes back', () => {
    const z = zcPair();
    enableZc(z);
    const buf = pattern(3000);
    assert.equal(zcSend(z, buf), 3000);
    run(z.p, 50_000);
    // the data went through and was ACKed: now resend-like hold: a second send held at the NIC
    assert.deepEqual(drainZc(z), [[0, 0, 0]]);
    z.ab.mode = 'hold';
    assert.equal(zcSend(z, pattern(2000, 2)), 2000);
    run(z.p, 1_000);
    const held = z.ab.held.length;
    assert.ok(held > 0);
    // duplicate the frames to B now (the ACK returns) but keep the NIC's copies held
    for (const skb of z.ab.held) z.ab.real.transmit(cloneFrame(z, skb), z.p.ea);
    run(z.p, 50_000);
    assert.equal(z.cs.tp.sndUna, z.cs.tp.sndNxt, 'everything is acknowledged');
    assert.equal(readZc(z), null, 'the NIC still references the frags: no notification');
    assert.ok(pinned(z) > 0);
    z.ab.discard();
    assert.deepEqual(drainZc(z), [[1, 1, 0]]);
    assert.equal(pinned(z), 0);
  });

  it('ACKs lost: retransmissions, then one notification once the ACK finally arrives', () => {
    const z = zcPair();
    enableZc(z);
    z.ba.mode = 'drop';
    const buf = pattern(20_000);
    assert.equal(zcSend(z, buf), buf.length);
    run(z.p, 1_500_000);
    assert.ok(z.cs.tp.stats.retransSegs > 0, 'the RTO retransmitted');
    assert.equal(readZc(z), null);
    z.ba.mode = 'pass';
    run(z.p, 5_000_000);
    assert.deepEqual(drainZc(z), [[0, 0, 0]]);
    assert.deepEqual(recvAll(z), buf);
    assert.equal(pinned(z), 0);
  });

  it('consecutive sends: ids in order, ranges coalesced on the queue; a send joining an unsent tail extends its notification', () => {
    const z = zcPair();
    enableZc(z);
    for (let i = 0; i < 5; i++) assert.equal(zcSend(z, pattern(1000, i)), 1000);
    run(z.p, 100_000);
    assert.deepEqual(drainZc(z), [[0, 4, 0]]);
    // cork: the second send joins the unsent tail record and extends the first notification
    assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_TCP, C.TCP_CORK, 1), 0);
    assert.equal(zcSend(z, pattern(100, 7)), 100);
    const u = z.cs.tp.sendBuf.tail!.uarg;
    assert.equal(zcSend(z, pattern(100, 8)), 100);
    assert.equal(z.cs.tp.sendBuf.tail!.uarg, u, 'same notification object');
    assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_TCP, C.TCP_CORK, 0), 0);
    run(z.p, 100_000);
    assert.deepEqual(drainZc(z), [[5, 6, 0]]);
    assert.equal(recvAll(z).length, 5200);
  });

  it('close with unacknowledged zero-copy data: nothing is queued after close, every page is released', () => {
    const z = zcPair();
    enableZc(z);
    z.ba.mode = 'drop';
    assert.equal(zcSend(z, pattern(50_000)), 50_000);
    run(z.p, 10_000);
    assert.ok(pinned(z) > 0);
    const cs = z.cs;
    assert.equal(z.p.a.sys.close(z.cfd), 0);
    z.ba.mode = 'pass';
    run(z.p, 10_000_000);
    assert.equal(cs.zc.live, 0, 'the notification completed');
    assert.equal(cs.errq.length, 0, 'and was dropped (SOCK_DEAD)');
    assert.equal(pinned(z), 0);
    assert.equal(cs.errq.omem, 0);
  });

  it('abort (SO_LINGER 0) purges the write queue: completion once, pages released', () => {
    const z = zcPair();
    enableZc(z);
    z.ba.mode = 'drop';
    z.ab.mode = 'hold';
    assert.equal(zcSend(z, pattern(30_000)), 30_000);
    const lin = new Uint8Array(8);
    new DataView(lin.buffer).setInt32(0, 1, true);
    assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_LINGER, lin), 0);
    const cs = z.cs;
    assert.equal(z.p.a.sys.close(z.cfd), 0);
    assert.ok(pinned(z) > 0, 'the held frames still reference the pages');
    assert.equal(cs.zc.live, 1);
    z.ab.discard();
    assert.equal(cs.zc.live, 0);
    assert.equal(pinned(z), 0);
  });

  it('ENOBUFS once uncompleted / unread notifications use up optmem_max; the failed call takes no id', () => {
    const z = zcPair();
    enableZc(z);
    z.ba.mode = 'drop';
    let n = 0;
    let r = 0;
    for (; n < 1000; n++) {
      r = zcSend(z, pattern(10, n));
      if (r < 0) break;
      // a copied byte in between: the next zero-copy send cannot extend this one's notification
      assert.equal(z.p.a.sys.send(z.cfd, new Uint8Array(1), 0), 1);
    }
    assert.equal(r, -ERRNO.ENOBUFS);
    assert.equal(n, Math.floor(z.cs.errq.optmemMax / 576));
    assert.equal(z.cs.zc.zckey, n, 'the failed send took no id');
    z.ba.mode = 'pass';
    run(z.p, 5_000_000);
    assert.deepEqual(drainZc(z), [[0, n - 1, 0]]);
    assert.equal(recvAll(z).length, n * 11);
    assert.equal(zcSend(z, pattern(10)), 10);
    assert.equal(pinned(z) > 0, true);
    run(z.p, 100_000);
    assert.equal(pinned(z), 0);
  });

  it('without SO_ZEROCOPY, MSG_ZEROCOPY is ignored: a copy and no notification', () => {
    const z = zcPair();
    assert.equal(zcSend(z, pattern(5000)), 5000);
    assert.equal(pinned(z), 0);
    run(z.p, 100_000);
    assert.equal(readZc(z), null);
    assert.equal(recvAll(z).length, 5000);
  });

  it('a zero-copy send on an unconnected socket fails EPIPE and gives its id back (closed.pkt)', () => {
    const z = zcPair();
    const fd = z.p.a.sys.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
    assert.equal(z.p.a.sys.setsockopt(fd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    const r = z.p.a.sys.sendmsg(fd, new MsgHdr().setSend(new Uint8Array(4000), 0, 4000), C.MSG_ZEROCOPY | C.MSG_NOSIGNAL);
    assert.equal(r, -ERRNO.EPIPE);
    const s = z.p.a.sys.sock(fd) as typeof z.cs;
    assert.equal(s.zc.zckey, 0);
    assert.equal(s.zc.live, 0);
    assert.equal(pinned(z), 0);
  });

  it('an iovec list pins each element apart: 18 one-byte iovecs make 17 + 1 frags (maxfrags.pkt)', () => {
    const z = zcPair();
    enableZc(z);
    assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_TCP, C.TCP_NODELAY, 1), 0);
    z.ab.mode = 'hold';
    const vecs = Array.from({ length: 18 }, (_, i) => new Uint8Array([i]));
    assert.equal(z.p.a.sys.sendmsg(z.cfd, new MsgHdr().setSendIovecs(vecs), C.MSG_ZEROCOPY), 18);
    run(z.p, 1000);
    const lens = z.ab.held.map((s) => s.nrFrags);
    assert.deepEqual(lens, [17, 1]);
    z.ab.mode = 'pass';
    z.ab.release();
    run(z.p, 100_000);
    assert.deepEqual([...recvAll(z)], vecs.map((v) => v[0]));
    assert.deepEqual(drainZc(z), [[0, 0, 0]]);
  });
});

describe('MSG_ZEROCOPY iovec edge cases', () => {
  it('more than UIO_MAXIOV (1024) iovecs: EMSGSIZE, nothing pinned, no id; 1024 are fine (audit8)', () => {
    const z = zcPair();
    enableZc(z);
    const sys = z.p.a.sys;
    const many = Array.from({ length: 1025 }, (_, i) => new Uint8Array([i & 0xff]));
    for (const flags of [C.MSG_ZEROCOPY, 0]) {
      assert.equal(sys.sendmsg(z.cfd, new MsgHdr().setSendIovecs(many), flags), -ERRNO.EMSGSIZE);
    }
    assert.equal(z.cs.zc.zckey, 0);
    assert.equal(pinned(z), 0);
    assert.equal(sys.sendmsg(z.cfd, new MsgHdr().setSendIovecs(many.slice(0, 1024)), C.MSG_ZEROCOPY), 1024);
    run(z.p, 200_000);
    assert.equal(recvAll(z).length, 1024);
    assert.equal(pinned(z), 0);
  });

  it('empty iovecs are skipped; an all-empty send returns 0 and takes no id (sendmsg-empty-iov.pkt)', () => {
    const z = zcPair();
    enableZc(z);
    const sys = z.p.a.sys;
    const none = [new Uint8Array(0), new Uint8Array(0)];
    assert.equal(sys.sendmsg(z.cfd, new MsgHdr().setSendIovecs(none), C.MSG_ZEROCOPY), 0);
    assert.equal(z.cs.zc.zckey, 0);
    const vecs = [new Uint8Array(0), new Uint8Array(10).fill(1), new Uint8Array(0), new Uint8Array(50).fill(2)];
    assert.equal(sys.sendmsg(z.cfd, new MsgHdr().setSendIovecs(vecs), C.MSG_ZEROCOPY), 60);
    // and the same list without MSG_ZEROCOPY is copied
    assert.equal(sys.sendmsg(z.cfd, new MsgHdr().setSendIovecs(vecs), 0), 60);
    run(z.p, 100_000);
    const got = recvAll(z);
    assert.equal(got.length, 120);
    assert.deepEqual([got[0], got[9], got[10], got[59], got[60], got[119]], [1, 1, 2, 2, 1, 2]);
    assert.deepEqual(drainZc(z), [[0, 0, 0]]);
    assert.equal(pinned(z), 0);
  });
});

describe('error queue syscalls on TCP', () => {
  it('spec 5.6 MSG_ERRQUEUE (separate path): EAGAIN on an empty queue (blocking sockets too), never consuming stream bytes', () => {
    const z = zcPair();
    z.p.b.sys.send(z.sfd, new Uint8Array([1, 2, 3]), 0);
    run(z.p);
    const msg = new MsgHdr().setRecv(new Uint8Array(10), new Uint8Array(64));
    assert.equal(z.p.a.sys.recvmsg(z.cfd, msg, C.MSG_ERRQUEUE), -ERRNO.EAGAIN);
    const s = z.p.a.sys.sock(z.cfd) as typeof z.cs;
    assert.equal(s.recvmsg(new MsgHdr().setRecv(new Uint8Array(10), null), C.MSG_ERRQUEUE, false), -ERRNO.EAGAIN);
    assert.equal(recvAllA(z), 3);
  });

  it('spec 5.6 MSG_OOB (standard TCP handling): EINVAL without urgent data (ENOTCONN on a listener)', () => {
    const z = zcPair();
    const msg = new MsgHdr().setRecv(new Uint8Array(10), null);
    assert.equal(z.p.a.sys.recvmsg(z.cfd, msg, C.MSG_OOB), -ERRNO.EINVAL);
    assert.equal(z.p.b.sys.recvmsg(z.lfd, msg, C.MSG_OOB), -ERRNO.ENOTCONN);
  });

  it('POLLERR while a notification is queued, cleared once it is read', () => {
    const z = zcPair();
    enableZc(z);
    assert.equal(zcSend(z, pattern(10)), 10);
    run(z.p, 50_000);
    const fds = [{ fd: z.cfd, events: C.POLLIN, revents: 0 }];
    assert.equal(z.p.a.sys.poll(fds), 1);
    assert.equal(fds[0]!.revents & C.POLLERR, C.POLLERR);
    assert.deepEqual(readZc(z), [0, 0, 0]);
    z.p.a.sys.poll(fds);
    assert.equal(fds[0]!.revents & C.POLLERR, 0);
  });

  it('SO_ZEROCOPY takes 0 or 1 (EINVAL otherwise); an accepted socket inherits it from the listener', () => {
    const z = zcPair();
    assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, 2), -ERRNO.EINVAL);
    assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, -1), -ERRNO.EINVAL);
    const out = new SockOptVal();
    assert.equal(z.p.a.sys.getsockopt(z.cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, out), 0);
    assert.equal(out.value, 0);
    assert.equal(z.p.b.sys.setsockopt(z.lfd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    const cfd2 = z.p.a.sys.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
    z.p.a.sys.connect(cfd2, { family: C.AF_INET, addr: z.cs.tp.raddr, port: 5000 });
    run(z.p);
    const sfd2 = z.p.b.sys.accept4(z.lfd, null, 0);
    assert.ok(sfd2 >= 0);
    assert.equal(z.p.b.sys.getsockopt(sfd2, C.SOL_SOCKET, C.SO_ZEROCOPY, out), 0);
    assert.equal(out.value, 1);
  });
});

function recvAllA(z: ZcPair): number {
  return z.p.a.sys.recv(z.cfd, new Uint8Array(100), 0);
}

/** a copy of a frame skb (bytes only) for delivering while the original stays held */
function cloneFrame(z: ZcPair, skb: SkBuff): SkBuff {
  const c = z.p.a.kernel.skbs.alloc(skb.len, 0)!;
  skbPut(c, skb.len);
  assert.equal(skbCopyBits(skb, 0, c.buf, c.data, skb.len), 0);
  return c;
}
