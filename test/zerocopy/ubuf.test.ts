/**
 * MSG_ZEROCOPY notification objects (msg_zerocopy_realloc / put / put_abort / callback): ids from
 * the u32 counter, extension of the tail's notification and its limits, the abort that gives the
 * id back, ENOBUFS at optmem_max, a dead socket queues nothing, completion exactly once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ubufMarkCopied, skbZcopySet, skbZcopyClone, skbFree, SkbCache } from '../../src/skb/index.js';
import { MemSpace } from '../../src/mem/index.js';
import { ERRQ_SKB_TRUESIZE, ErrQueue, decodeSockExtendedErr, recvErrqueue } from '../../src/socket/sys/errqueue.js';
import { MSG_ZC_BYTE_LIMIT, MsgZcUbuf, ZcSock, msgZerocopyRealloc, netZcopyPut, netZcopyPutAbort } from '../../src/socket/sys/zerocopy.js';
import { MsgHdr } from '../../src/socket/sys/msghdr.js';
import { AF_INET, ERRNO } from '../../src/uapi/index.js';

function sock(stream = true): ZcSock {
  return new ZcSock(new ErrQueue({ wake() {} }), stream);
}

/** every notification on the queue as [lo, hi, code] */
function drain(zc: ZcSock): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (;;) {
    const ctl = new Uint8Array(64);
    const msg = new MsgHdr().setRecv(new Uint8Array(0), ctl);
    const r = recvErrqueue(zc.errq, { family: AF_INET, tsflags: 0 }, msg);
    if (r === -ERRNO.EAGAIN) return out;
    const ee = decodeSockExtendedErr(ctl.subarray(16))!;
    out.push([ee.info, ee.data, ee.code]);
  }
}

describe('msg_zerocopy_realloc', () => {
  it('each send takes the next id; the call reference completes it; ranges coalesce on the queue', () => {
    const zc = sock();
    for (let i = 0; i < 3; i++) {
      const u = msgZerocopyRealloc(zc, 100, null)!;
      assert.equal(u.id, i);
      netZcopyPut(u);
    }
    assert.equal(zc.zckey, 3);
    assert.deepEqual(drain(zc), [[0, 2, 0]]);
    assert.equal(zc.errq.omem, 0);
    assert.equal(zc.live, 0);
  });

  it('a send joining the tail extends its notification by one id (and holds a call reference)', () => {
    const zc = sock();
    const a = msgZerocopyRealloc(zc, 1000, null)!;
    const b = msgZerocopyRealloc(zc, 1000, a)!;
    assert.equal(b, a);
    assert.equal(a.len, 2);
    assert.equal(a.refcnt, 2);
    netZcopyPut(a);
    netZcopyPut(a);
    assert.deepEqual(drain(zc), [[0, 1, 0]]);
  });

  it('no extension when another notification took an id in between, past 512 KiB, or for another socket', () => {
    const zc = sock();
    const a = msgZerocopyRealloc(zc, 10, null)!;
    const other = msgZerocopyRealloc(zc, 10, null)!;
    const c = msgZerocopyRealloc(zc, 10, a)!;
    assert.notEqual(c, a);
    assert.equal(c.id, 2);
    const big = msgZerocopyRealloc(zc, MSG_ZC_BYTE_LIMIT, null)!;
    const d = msgZerocopyRealloc(zc, 1, big)!;
    assert.notEqual(d, big, 'bytelen would pass the byte limit');
    const foreign = msgZerocopyRealloc(sock(), 1, d)!;
    assert.notEqual(foreign, d);
    for (const u of [a, other, c, big, d, foreign]) netZcopyPut(u);
    assert.deepEqual(drain(zc), [[0, 4, 0]]);
  });

  it('datagram sockets: an extension takes no reference; one that cannot extend fails (ENOBUFS)', () => {
    const zc = sock(false);
    const a = msgZerocopyRealloc(zc, MSG_ZC_BYTE_LIMIT - 1, null)!;
    const b = msgZerocopyRealloc(zc, 1, a)!;
    assert.equal(b, a);
    assert.equal(a.refcnt, 1);
    assert.equal(msgZerocopyRealloc(zc, 1, a), null);
    netZcopyPut(a);
    assert.deepEqual(drain(zc), [[0, 1, 0]]);
  });

  it('an aborted send gives its id back and queues nothing (closed.pkt)', () => {
    const zc = sock();
    const u = msgZerocopyRealloc(zc, 4000, null)!;
    netZcopyPutAbort(u, true);
    assert.equal(zc.zckey, 0);
    assert.deepEqual(drain(zc), []);
    assert.equal(zc.errq.omem, 0);
    const v = msgZerocopyRealloc(zc, 4000, null)!;
    assert.equal(v.id, 0);
    // an aborted extension takes back only its own id
    const w = msgZerocopyRealloc(zc, 1, v)!;
    netZcopyPutAbort(w, true);
    assert.equal(v.len, 1);
    netZcopyPut(v);
    assert.deepEqual(drain(zc), [[0, 0, 0]]);
  });

  it('ENOBUFS (null) once optmem is used up by unread notifications; reading frees it', () => {
    const zc = sock();
    zc.errq.optmemMax = 2 * ERRQ_SKB_TRUESIZE;
    const a = msgZerocopyRealloc(zc, 1, null)!;
    netZcopyPut(a);
    const b = msgZerocopyRealloc(zc, 1, null)!;
    assert.equal(msgZerocopyRealloc(zc, 1, null), null);
    assert.equal(zc.zckey, 2, 'a failed allocation takes no id');
    netZcopyPut(b); // merges into a's notification: frees its charge
    const c = msgZerocopyRealloc(zc, 1, null)!;
    netZcopyPut(c);
    assert.deepEqual(drain(zc), [[0, 2, 0]]);
    assert.equal(zc.errq.omem, 0);
  });

  it('SO_EE_CODE_ZEROCOPY_COPIED when a holder copied the bytes', () => {
    const zc = sock();
    const u = msgZerocopyRealloc(zc, 1, null)!;
    ubufMarkCopied(u);
    netZcopyPut(u);
    assert.deepEqual(drain(zc), [[0, 0, 1]]);
  });

  it('completes once, after the last skb (clones included) lets go; a second completion throws', () => {
    const mem = new MemSpace();
    const pool = new SkbCache(mem);
    const zc = sock();
    const u = msgZerocopyRealloc(zc, 10, null)!;
    const s1 = pool.allocBare();
    const s2 = pool.allocBare();
    skbZcopySet(s1, u);
    skbZcopyClone(s2, s1);
    assert.equal(u.refcnt, 3);
    netZcopyPut(u);
    skbFree(s1);
    assert.deepEqual(drain(zc), []);
    skbFree(s2);
    assert.deepEqual(drain(zc), [[0, 0, 0]]);
    assert.throws(() => u.complete(), /twice/);
    assert.ok(u instanceof MsgZcUbuf);
  });

  it('a dead (closed) socket queues nothing but every notification still completes', () => {
    const zc = sock();
    const u = msgZerocopyRealloc(zc, 10, null)!;
    zc.dead = true;
    netZcopyPut(u);
    assert.equal(zc.errq.length, 0);
    assert.equal(zc.completed, 1);
    assert.equal(zc.errq.omem, 0);
  });

  it('the counter wraps at 2^32', () => {
    const zc = sock();
    zc.zckey = 0xffffffff;
    const a = msgZerocopyRealloc(zc, 1, null)!;
    const b = msgZerocopyRealloc(zc, 1, a)!;
    assert.equal(a.id, 0xffffffff);
    assert.equal(zc.zckey, 1);
    netZcopyPut(a);
    netZcopyPut(b);
    assert.deepEqual(drain(zc), [[0xffffffff, 0, 0]]);
  });
});
