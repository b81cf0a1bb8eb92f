/**
 * MSG_ZEROCOPY on UDP: one id per datagram, the notification reports COPIED (the UDP path copies),
 * ranges merge, POLLERR while queued, ENOBUFS at optmem_max is not reachable per datagram (each
 * completes at once); without SO_ZEROCOPY nothing is reported; a failed send gives its id back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../src/index.js';
import { decodeSockExtendedErr } from '../../src/socket/sys/errqueue.js';
import { MsgHdr } from '../../src/socket/sys/msghdr.js';
import { UdpSockFile } from '../../src/socket/sys/udp-sock.js';
import { makePair, run, udpFd, v4 } from '../socket/helpers.js';

function readZc(sys: { recvmsg(fd: number, m: MsgHdr, f: number): number }, fd: number): number[] | null {
  const ctl = new Uint8Array(64);
  const m = new MsgHdr().setRecv(new Uint8Array(0), ctl);
  const r = sys.recvmsg(fd, m, C.MSG_ERRQUEUE);
  if (r === -ERRNO.EAGAIN) return null;
  const ee = decodeSockExtendedErr(ctl.subarray(16))!;
  return [ee.origin, ee.info, ee.data, ee.code];
}

describe('MSG_ZEROCOPY on UDP', () => {
  it('one id per datagram, COPIED, merged; POLLERR until read; the datagrams arrive', () => {
    const p = makePair();
    const rx = udpFd(p.b);
    assert.equal(p.b.sys.bind(rx, v4('0.0.0.0', 7000)), 0);
    const tx = udpFd(p.a);
    assert.equal(p.a.sys.setsockopt(tx, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    assert.equal(p.a.sys.setsockopt(tx, C.SOL_SOCKET, C.SO_ZEROCOPY, 3), -ERRNO.EINVAL);
    for (let i = 0; i < 3; i++) {
      const m = new MsgHdr().setSend(new Uint8Array([i, i]), 0, 2, v4('10.0.0.2', 7000));
      assert.equal(p.a.sys.sendmsg(tx, m, C.MSG_ZEROCOPY), 2);
    }
    const fds = [{ fd: tx, events: 0, revents: 0 }];
    p.a.sys.poll(fds);
    assert.equal(fds[0]!.revents & C.POLLERR, C.POLLERR);
    assert.deepEqual(readZc(p.a.sys, tx), [C.SO_EE_ORIGIN_ZEROCOPY, 0, 2, C.SO_EE_CODE_ZEROCOPY_COPIED]);
    assert.equal(readZc(p.a.sys, tx), null);
    p.a.sys.poll(fds);
    assert.equal(fds[0]!.revents & C.POLLERR, 0);
    run(p);
    let n = 0;
    while (p.b.sys.recv(rx, new Uint8Array(10), 0) === 2) n++;
    assert.equal(n, 3);
  });

  it('a failed datagram gives its id back; without SO_ZEROCOPY nothing is reported', () => {
    const p = makePair();
    const tx = udpFd(p.a);
    assert.equal(p.a.sys.setsockopt(tx, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    // no destination on an unconnected socket: EDESTADDRREQ
    const r = p.a.sys.sendmsg(tx, new MsgHdr().setSend(new Uint8Array(5), 0, 5), C.MSG_ZEROCOPY);
    assert.equal(r, -ERRNO.EDESTADDRREQ);
    const s = p.a.sys.sock(tx) as UdpSockFile;
    assert.equal(s.zc.zckey, 0);
    assert.equal(readZc(p.a.sys, tx), null);
    const tx2 = udpFd(p.a);
    assert.equal(p.a.sys.sendmsg(tx2, new MsgHdr().setSend(new Uint8Array(5), 0, 5, v4('10.0.0.2', 7000)), C.MSG_ZEROCOPY), 5);
    assert.equal(readZc(p.a.sys, tx2), null);
  });
});

describe('UDP sendmsg iovec forms (audit8)', () => {
  it('an iovec list is one datagram of the concatenated bytes (MSG_ZEROCOPY: one id); > UIO_MAXIOV → EMSGSIZE; numeric iovecs → EFAULT', () => {
    const p = makePair();
    const rx = udpFd(p.b);
    assert.equal(p.b.sys.bind(rx, v4('0.0.0.0', 7001)), 0);
    const tx = udpFd(p.a);
    assert.equal(p.a.sys.setsockopt(tx, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    const to = v4('10.0.0.2', 7001);
    const vecs = [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(4, 5)];
    assert.equal(p.a.sys.sendmsg(tx, new MsgHdr().setSendIovecs(vecs, to), 0), 5);
    assert.equal(p.a.sys.sendmsg(tx, new MsgHdr().setSendIovecs(vecs, to), C.MSG_ZEROCOPY), 5);
    const many = Array.from({ length: 1025 }, () => Uint8Array.of(9));
    assert.equal(p.a.sys.sendmsg(tx, new MsgHdr().setSendIovecs(many, to), C.MSG_ZEROCOPY), -ERRNO.EMSGSIZE);
    assert.equal(p.a.sys.sendmsg(tx, new MsgHdr().setSendIov(Float64Array.of(0, 10), 1, null, to), 0), -ERRNO.EFAULT);
    assert.deepEqual(readZc(p.a.sys, tx), [C.SO_EE_ORIGIN_ZEROCOPY, 0, 0, C.SO_EE_CODE_ZEROCOPY_COPIED]);
    assert.equal(readZc(p.a.sys, tx), null);
    run(p);
    for (let i = 0; i < 2; i++) {
      const buf = new Uint8Array(16);
      assert.equal(p.b.sys.recv(rx, buf, 0), 5);
      assert.deepEqual([...buf.subarray(0, 5)], [1, 2, 3, 4, 5]);
    }
    assert.equal(p.b.sys.recv(rx, new Uint8Array(16), 0), -ERRNO.EAGAIN);
  });
});
