/**
 * The socket error queue: byte-exact `struct sock_extended_err` in IP_RECVERR / IPV6_RECVERR
 * cmsgs, zero-copy range coalescing as __msg_zerocopy_callback, put_cmsg truncation, timestamps
 * with SCM_TIMESTAMPING first, MSG_TRUNC for payload, omem accounting back to zero.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_INET, AF_INET6, ERRNO, IP_RECVERR, IPV6_RECVERR, MSG_CTRUNC, MSG_ERRQUEUE, MSG_TRUNC, POLLERR, SCM_TIMESTAMPING,
  SCM_TSTAMP_ACK, SOF_TIMESTAMPING_OPT_ID, SOF_TIMESTAMPING_SOFTWARE, SOL_IP, SOL_IPV6, SOL_SOCKET,
} from '../../src/uapi/index.js';
import { ERRQ_SKB_TRUESIZE, ErrQueue, decodeSockExtendedErr, recvErrqueue } from '../../src/socket/sys/errqueue.js';
import { MsgHdr } from '../../src/socket/sys/msghdr.js';

class Waker {
  wakes: number[] = [];
  wake(mask: number): void {
    this.wakes.push(mask);
  }
}

function read(q: ErrQueue, family: number, tsflags = 0, iovLen = 0, controlLen = 256): { r: number; msg: MsgHdr; control: Uint8Array } {
  const control = new Uint8Array(controlLen);
  const msg = new MsgHdr().setRecv(new Uint8Array(iovLen), controlLen === 0 ? null : control);
  const r = recvErrqueue(q, { family, tsflags }, msg);
  return { r, msg, control: control.subarray(0, msg.controlLen) };
}

/** hand-written expected bytes of one RECVERR cmsg (64-bit Linux little-endian) */
function recverrBytes(v6: boolean, errno: number, origin: number, code: number, info: number, data: number): Uint8Array {
  const dataLen = 16 + (v6 ? 28 : 16);
  const b = new Uint8Array(16 + ((dataLen + 7) & ~7));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 16 + dataLen, true); // cmsg_len (size_t)
  dv.setInt32(8, v6 ? SOL_IPV6 : SOL_IP, true);
  dv.setInt32(12, v6 ? IPV6_RECVERR : IP_RECVERR, true);
  dv.setUint32(16, errno, true);
  b[20] = origin;
  b[22] = code;
  dv.setUint32(24, info, true);
  dv.setUint32(28, data, true);
  return b;
}

describe('error queue: zero-copy notifications', () => {
  it('an empty queue answers EAGAIN and writes nothing', () => {
    const q = new ErrQueue(new Waker());
    const { r, msg } = read(q, AF_INET);
    assert.equal(r, -ERRNO.EAGAIN);
    assert.equal(msg.controlLen, 0);
  });

  it('IPv4: SOL_IP/IP_RECVERR, sock_extended_err then a zeroed sockaddr_in, byte for byte', () => {
    const w = new Waker();
    const q = new ErrQueue(w);
    assert.ok(q.charge());
    q.queueZerocopy(7, 3, true, ERRQ_SKB_TRUESIZE);
    assert.deepEqual(w.wakes, [POLLERR]);
    const { r, msg, control } = read(q, AF_INET);
    assert.equal(r, 0);
    assert.equal(msg.msgFlags, MSG_ERRQUEUE);
    assert.deepEqual(control, recverrBytes(false, 0, 5, 1, 7, 9));
    assert.equal(q.omem, 0, 'the read notification gave its omem back');
    assert.equal(read(q, AF_INET).r, -ERRNO.EAGAIN);
  });

  it('IPv6 (and v4-mapped) sockets: SOL_IPV6/IPV6_RECVERR with a sockaddr_in6 offender (cmsg_len 60)', () => {
    const q = new ErrQueue(new Waker());
    q.charge();
    q.queueZerocopy(0, 1, false, ERRQ_SKB_TRUESIZE);
    const { control } = read(q, AF_INET6);
    assert.equal(control.length, 64);
    assert.deepEqual(control, recverrBytes(true, 0, 5, 0, 0, 0));
  });

  it('contiguous completions merge into the tail (keeping its code); gaps and reads split them', () => {
    const q = new ErrQueue(new Waker());
    for (let i = 0; i < 4; i++) q.charge();
    q.queueZerocopy(0, 1, false, ERRQ_SKB_TRUESIZE);
    q.queueZerocopy(1, 2, true, ERRQ_SKB_TRUESIZE); // merges: the tail's ee_code (0) stays
    q.queueZerocopy(5, 1, false, ERRQ_SKB_TRUESIZE); // gap: a new notification
    assert.equal(q.length, 2);
    // two queued + one charged for the notification still to come; the merged one was freed at once
    assert.equal(q.omem, 3 * ERRQ_SKB_TRUESIZE);
    let c = read(q, AF_INET).control;
    let ee = decodeSockExtendedErr(c.subarray(16))!;
    assert.deepEqual([ee.info, ee.data, ee.code], [0, 2, 0]);
    q.queueZerocopy(6, 1, true, ERRQ_SKB_TRUESIZE); // merges with [5,5]
    c = read(q, AF_INET).control;
    ee = decodeSockExtendedErr(c.subarray(16))!;
    assert.deepEqual([ee.info, ee.data], [5, 6]);
    assert.equal(q.length, 0);
    assert.equal(q.omem, 0);
  });

  it('ids are u32: a range wraps past 2^32 − 1 and still merges', () => {
    const q = new ErrQueue(new Waker());
    q.charge();
    q.charge();
    q.queueZerocopy(0xfffffffe, 2, false, ERRQ_SKB_TRUESIZE);
    q.queueZerocopy(0, 3, false, ERRQ_SKB_TRUESIZE);
    const ee = decodeSockExtendedErr(read(q, AF_INET).control.subarray(16))!;
    assert.deepEqual([ee.info, ee.data], [0xfffffffe, 2]);
  });

  it('put_cmsg truncates a cmsg that does not fit (MSG_CTRUNC) and still dequeues', () => {
    const q = new ErrQueue(new Waker());
    q.charge();
    q.queueZerocopy(3, 1, false, ERRQ_SKB_TRUESIZE);
    const { r, msg, control } = read(q, AF_INET, 0, 0, 24);
    assert.equal(r, 0);
    assert.equal(msg.msgFlags, MSG_ERRQUEUE | MSG_CTRUNC);
    assert.equal(control.length, 24);
    assert.equal(new DataView(control.buffer, control.byteOffset).getUint32(0, true), 24, 'cmsg_len is what fit');
    assert.equal(q.length, 0);
    q.charge();
    q.queueZerocopy(4, 1, false, ERRQ_SKB_TRUESIZE);
    const none = read(q, AF_INET, 0, 0, 0);
    assert.equal(none.msg.msgFlags, MSG_ERRQUEUE | MSG_CTRUNC);
    assert.equal(none.msg.controlLen, 0);
  });

  it('optmem: charging stops at optmem_max; purge gives everything back', () => {
    const q = new ErrQueue(new Waker());
    q.optmemMax = 3 * ERRQ_SKB_TRUESIZE;
    assert.ok(q.charge() && q.charge() && q.charge());
    assert.equal(q.charge(), false);
    q.queueZerocopy(0, 1, false, ERRQ_SKB_TRUESIZE);
    q.queueZerocopy(2, 1, false, ERRQ_SKB_TRUESIZE);
    q.uncharge(ERRQ_SKB_TRUESIZE);
    q.purge();
    assert.equal(q.omem, 0);
    assert.equal(q.length, 0);
    assert.ok(q.empty);
  });
});

describe('error queue: timestamps', () => {
  it('SCM_TIMESTAMPING (3 timespecs) comes before IP_RECVERR with ENOMSG, TIMESTAMPING origin and the OPT_ID key', () => {
    const q = new ErrQueue(new Waker());
    const tsflags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID;
    q.queueTstamp(SCM_TSTAMP_ACK, 1000 + 1999, tsflags, 1000, 30_000_250, new Uint8Array([1, 2, 3]));
    const { r, msg, control } = read(q, AF_INET, tsflags);
    assert.equal(r, 0);
    assert.equal(msg.msgFlags, MSG_ERRQUEUE | MSG_TRUNC, 'the cloned payload did not fit a zero-length iov');
    const want = new Uint8Array(64 + 48);
    const dv = new DataView(want.buffer);
    dv.setUint32(0, 64, true);
    dv.setInt32(8, SOL_SOCKET, true);
    dv.setInt32(12, SCM_TIMESTAMPING, true);
    dv.setBigInt64(16, 30n, true);
    dv.setBigInt64(24, 250_000n, true);
    want.set(recverrBytes(false, ERRNO.ENOMSG, 4, 0, SCM_TSTAMP_ACK, 1999), 64);
    assert.deepEqual(control, want);
  });

  it('the payload is copied into the iov up to its length; no SOFTWARE flag → no SCM_TIMESTAMPING; no OPT_ID → ee_data 0', () => {
    const q = new ErrQueue(new Waker());
    q.queueTstamp(SCM_TSTAMP_ACK, 77, 0, 0, 5, new Uint8Array([9, 8, 7]));
    const { r, msg, control } = read(q, AF_INET, 0, 8);
    assert.equal(r, 3);
    assert.equal(msg.msgFlags, MSG_ERRQUEUE);
    assert.deepEqual([...msg.iov!.subarray(0, 3)], [9, 8, 7]);
    assert.equal(control.length, 48);
    assert.equal(decodeSockExtendedErr(control.subarray(16))!.data, 0);
  });
});
