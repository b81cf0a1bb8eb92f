/**
 * SO_TIMESTAMPING on TCP: the option's validation (sock_set_timestamping), and transmit
 * timestamps on the error queue — SCHED and SND when the segment carrying a send's last byte
 * leaves (again on a retransmission), ACK when that byte is acknowledged — with OPT_ID keys,
 * SCM_TIMESTAMPING times, payload (MSG_TRUNC) or none (OPT_TSONLY).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../src/index.js';
import { decodeScmTimestamping, decodeSockExtendedErr } from '../../src/socket/sys/errqueue.js';
import { MsgHdr } from '../../src/socket/sys/msghdr.js';
import { SockOptVal } from '../../src/socket/sys/sock.js';
import { run, zcPair, type ZcPair } from './helpers.js';

const TX = C.SOF_TIMESTAMPING_TX_SCHED | C.SOF_TIMESTAMPING_TX_SOFTWARE | C.SOF_TIMESTAMPING_TX_ACK | C.SOF_TIMESTAMPING_SOFTWARE | C.SOF_TIMESTAMPING_OPT_ID;

interface Stamp {
  kind: number;
  key: number;
  us: number;
  r: number;
  flags: number;
}

function readStamp(z: ZcPair, iovLen = 0): Stamp | null {
  const ctl = new Uint8Array(256);
  const msg = new MsgHdr().setRecv(new Uint8Array(iovLen), ctl);
  const r = z.p.a.sys.recvmsg(z.cfd, msg, C.MSG_ERRQUEUE);
  if (r === -ERRNO.EAGAIN) return null;
  let us = -1;
  let off = 0;
  let ee = null;
  const dv = new DataView(ctl.buffer);
  while (off < msg.controlLen) {
    const len = dv.getUint32(off, true);
    const level = dv.getInt32(off + 8, true);
    const type = dv.getInt32(off + 12, true);
    const data = ctl.subarray(off + 16, off + len);
    if (level === C.SOL_SOCKET && type === C.SCM_TIMESTAMPING) {
      const ts = decodeScmTimestamping(data)!;
      us = ts[0]!.sec * 1e6 + ts[0]!.nsec / 1000;
      assert.deepEqual([ts[1], ts[2]], [{ sec: 0, nsec: 0 }, { sec: 0, nsec: 0 }]);
    } else {
      assert.deepEqual([level, type], [C.SOL_IP, C.IP_RECVERR]);
      ee = decodeSockExtendedErr(data)!;
    }
    off += (len + 7) & ~7;
  }
  assert.ok(ee !== null);
  assert.equal(ee.eeErrno, ERRNO.ENOMSG);
  assert.equal(ee.origin, C.SO_EE_ORIGIN_TIMESTAMPING);
  return { kind: ee.info, key: ee.data, us, r, flags: msg.msgFlags };
}

function drain(z: ZcPair, iovLen = 0): Stamp[] {
  const out: Stamp[] = [];
  for (let s = readStamp(z, iovLen); s !== null; s = readStamp(z, iovLen)) out.push(s);
  return out;
}

const setTs = (z: ZcPair, v: number): number => z.p.a.sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_TIMESTAMPING, v);

describe('SO_TIMESTAMPING option', () => {
  it('validates as sock_set_timestamping', () => {
    const z = zcPair();
    assert.equal(setTs(z, 1 << 20), -ERRNO.EINVAL, 'unknown flag');
    assert.equal(setTs(z, C.SOF_TIMESTAMPING_OPT_ID_TCP), -ERRNO.EINVAL, 'OPT_ID_TCP without OPT_ID');
    assert.equal(setTs(z, C.SOF_TIMESTAMPING_OPT_STATS), -ERRNO.EINVAL, 'OPT_STATS without TSONLY');
    assert.equal(setTs(z, C.SOF_TIMESTAMPING_BIND_PHC), -ERRNO.EOPNOTSUPP);
    assert.equal(z.p.b.sys.setsockopt(z.lfd, C.SOL_SOCKET, C.SO_TIMESTAMPING, C.SOF_TIMESTAMPING_OPT_ID), -ERRNO.EINVAL, 'OPT_ID on a listener');
    const fresh = z.p.a.sys.socket(C.AF_INET, C.SOCK_STREAM, 0);
    assert.equal(z.p.a.sys.setsockopt(fresh, C.SOL_SOCKET, C.SO_TIMESTAMPING, C.SOF_TIMESTAMPING_OPT_ID), -ERRNO.EINVAL, 'OPT_ID in CLOSE');
    assert.equal(setTs(z, TX), 0);
    const out = new SockOptVal();
    assert.equal(z.p.a.sys.getsockopt(z.cfd, C.SOL_SOCKET, C.SO_TIMESTAMPING, out), 0);
    assert.equal(out.value, TX);
    assert.equal(new DataView(out.bytes!.buffer).getInt32(0, true), TX);
  });
});

describe('TCP transmit timestamps', () => {
  it('SCHED and SND when the last byte leaves, ACK when it is acknowledged; keys count bytes from OPT_ID', () => {
    const z = zcPair();
    assert.equal(setTs(z, TX), 0);
    const t0 = z.p.net.sched.now();
    assert.equal(z.p.a.sys.send(z.cfd, new Uint8Array(2000), 0), 2000);
    assert.equal(z.p.a.sys.send(z.cfd, new Uint8Array(3000), 0), 3000);
    run(z.p, 100_000);
    const st = drain(z, 0);
    const kinds = st.map((s) => `${s.kind}:${s.key}`);
    for (const want of ['1:1999', '0:1999', '2:1999', '1:4999', '0:4999', '2:4999']) assert.ok(kinds.includes(want), `${want} in ${kinds.join(' ')}`);
    assert.equal(st.length, 6);
    // SCHED before SND for a key; ACK after both; times from the stack's clock
    assert.ok(kinds.indexOf('1:1999') < kinds.indexOf('0:1999'));
    assert.ok(kinds.indexOf('0:1999') < kinds.indexOf('2:1999'));
    const sched = st.find((s) => s.kind === C.SCM_TSTAMP_SCHED)!;
    const ack = st.find((s) => s.kind === C.SCM_TSTAMP_ACK)!;
    assert.equal(sched.us, t0);
    assert.ok(ack.us > t0);
    for (const s of st) {
      assert.equal(s.flags, C.MSG_ERRQUEUE | C.MSG_TRUNC, 'the cloned payload does not fit a zero-length iov');
      assert.equal(s.r, 0);
    }
  });

  it('the payload comes back when the iov is large enough; OPT_TSONLY stamps carry none', () => {
    const z = zcPair();
    assert.equal(setTs(z, TX), 0);
    z.p.a.sys.send(z.cfd, new Uint8Array(100).fill(4), 0);
    run(z.p, 100_000);
    const st = drain(z, 4096);
    assert.ok(st.length === 3);
    for (const s of st) {
      assert.equal(s.r, 100);
      assert.equal(s.flags, C.MSG_ERRQUEUE);
    }
    assert.equal(setTs(z, TX | C.SOF_TIMESTAMPING_OPT_TSONLY), 0);
    z.p.a.sys.send(z.cfd, new Uint8Array(100), 0);
    run(z.p, 100_000);
    const st2 = drain(z, 4096);
    assert.equal(st2.length, 3);
    assert.deepEqual(st2.map((s) => [s.r, s.flags, s.key]), new Array(3).fill([0, C.MSG_ERRQUEUE, 199]));
  });

  it('a partial non-blocking write stamps the last byte it queued (partial.pkt)', () => {
    const z = zcPair();
    assert.equal(z.p.a.sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_SNDBUF, 1000), 0);
    assert.equal(setTs(z, TX), 0);
    const n = z.p.a.sys.send(z.cfd, new Uint8Array(1_000_000), 0);
    assert.ok(n > 0 && n < 1_000_000, `partial: ${n}`);
    run(z.p, 500_000);
    const st = drain(z);
    assert.deepEqual(st.map((s) => [s.kind, s.key]), [[C.SCM_TSTAMP_SCHED, n - 1], [C.SCM_TSTAMP_SND, n - 1], [C.SCM_TSTAMP_ACK, n - 1]]);
  });

  it('a retransmission of the key segment is stamped again (SND twice, one ACK)', () => {
    const z = zcPair();
    assert.equal(setTs(z, C.SOF_TIMESTAMPING_TX_SOFTWARE | C.SOF_TIMESTAMPING_TX_ACK | C.SOF_TIMESTAMPING_OPT_ID | C.SOF_TIMESTAMPING_SOFTWARE), 0);
    z.ab.mode = 'drop';
    z.p.a.sys.send(z.cfd, new Uint8Array(500), 0);
    run(z.p, 1000);
    z.ab.mode = 'pass';
    run(z.p, 3_000_000);
    const st = drain(z);
    assert.deepEqual(st.map((s) => [s.kind, s.key]), [[C.SCM_TSTAMP_SND, 499], [C.SCM_TSTAMP_SND, 499], [C.SCM_TSTAMP_ACK, 499]]);
    assert.ok(st[1]!.us > st[0]!.us);
  });

  it('without SOF_TIMESTAMPING_SOFTWARE no SCM_TIMESTAMPING cmsg; without OPT_ID ee_data is 0; no TX flags, no stamps', () => {
    const z = zcPair();
    assert.equal(setTs(z, C.SOF_TIMESTAMPING_TX_ACK), 0);
    z.p.a.sys.send(z.cfd, new Uint8Array(10), 0);
    run(z.p, 100_000);
    const st = drain(z);
    assert.deepEqual(st.map((s) => [s.kind, s.key, s.us]), [[C.SCM_TSTAMP_ACK, 0, -1]]);
    assert.equal(setTs(z, C.SOF_TIMESTAMPING_SOFTWARE), 0);
    z.p.a.sys.send(z.cfd, new Uint8Array(10), 0);
    run(z.p, 100_000);
    assert.deepEqual(drain(z), []);
  });

  it('close drops pending stamps and stops stamping', () => {
    const z = zcPair();
    assert.equal(setTs(z, TX), 0);
    z.ba.mode = 'drop';
    z.p.a.sys.send(z.cfd, new Uint8Array(10), 0);
    run(z.p, 1000);
    const cs = z.cs;
    assert.ok(cs.errq.length > 0);
    z.p.a.sys.close(z.cfd);
    assert.equal(cs.errq.length, 0);
    z.ba.mode = 'pass';
    run(z.p, 5_000_000);
    assert.equal(cs.errq.length, 0);
    assert.equal(cs.tp.txTstamp, null);
  });
});
