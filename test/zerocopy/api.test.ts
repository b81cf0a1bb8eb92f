/**
 * The promise API: `sendZerocopy` resolves only once the stack let go of the caller's buffer
 * (after the ACK), the bytes arrive intact, ids count up, and `recvmsg({ flags: MSG_ERRQUEUE })`
 * answers EAGAIN at once (never waits, even with a receive pending) and decodes notifications.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError } from '../../src/index.js';
import { decodeSockExtendedErr } from '../../src/socket/sys/errqueue.js';
import { bindDevmem, connectPair, listen, makePair, patternSender } from '../e2e/helpers.js';

async function readN(s: { recv(n: number): Promise<Uint8Array> }, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const b = await s.recv(n - got);
    if (b.length === 0) break;
    out.set(b, got);
    got += b.length;
  }
  return out.subarray(0, got);
}

describe('Socket.sendZerocopy', () => {
  it('resolves after the peer acknowledged the bytes; the buffer is then free (no page pinned)', async () => {
    const p = makePair();
    const { cs, conn } = await connectPair(p);
    const buf = new Uint8Array(300_000);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7) & 0xff;
    const want = buf.slice();
    const reader = readN(conn, buf.length);
    const r1 = await cs.sendZerocopy(buf);
    assert.deepEqual(r1, { bytes: buf.length, id: 0, copied: false });
    assert.equal(p.a.kernel.mem.host.userPagesPinned, 0);
    buf.fill(0); // reuse: the bytes already reached the peer
    const r2 = await cs.sendZerocopy(new Uint8Array(10).fill(9));
    assert.equal(r2.id, 1);
    const got = await reader;
    assert.deepEqual(got, want);
    assert.deepEqual([...(await readN(conn, 10))], new Array(10).fill(9));
    cs.close();
    conn.close();
  });

  it('MSG_ERRQUEUE through the promise API: EAGAIN at once, even while a receive waits', async () => {
    const p = makePair();
    const { cs, conn } = await connectPair(p);
    const pending = cs.recv(100); // blocks: nothing to read
    await assert.rejects(cs.recvmsg({ flags: C.MSG_ERRQUEUE, controlLen: 64 }), (e: unknown) => e instanceof ErrnoError && e.code === 'EAGAIN');
    // a notification read through recvmsg (no sendZerocopy on this socket: the queue keeps them)
    cs.setsockopt(C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    await cs.send(new Uint8Array(1000), C.MSG_ZEROCOPY);
    await readN(conn, 1000);
    // the ACK reaches A a little after B read the bytes
    await p.net.sleep(50_000);
    const m = await cs.recvmsg({ flags: C.MSG_ERRQUEUE, controlLen: 64, iovLen: 0 });
    assert.equal(m.flags, C.MSG_ERRQUEUE);
    assert.equal(m.cmsgs.length, 1);
    const c = m.cmsgs[0]!;
    assert.equal(c.kind, 'other');
    assert.deepEqual([c.level, c.type], [C.SOL_IP, C.IP_RECVERR]);
    const ee = decodeSockExtendedErr((c as { data: Uint8Array }).data)!;
    assert.deepEqual([ee.origin, ee.info, ee.data, ee.code], [C.SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0]);
    conn.send(new Uint8Array([5]));
    assert.deepEqual([...(await pending)], [5]);
    cs.close();
    conn.close();
  });
});

describe('spec 5.6 MSG_ERRQUEUE on a devmem receiver', () => {
  it('is the error-queue path: EAGAIN, and the device-memory data stays queued for MSG_SOCK_DEVMEM', async () => {
    const p = makePair();
    const { nl } = await bindDevmem(p, 1 << 20);
    const ls = listen(p);
    const acc = ls.accept();
    const sender = patternSender(p, 8192);
    const conn = await acc;
    await sender;
    await p.net.sleep(10_000);
    await assert.rejects(
      conn.recvmsg({ flags: C.MSG_ERRQUEUE | C.MSG_SOCK_DEVMEM, controlLen: 4096, iovLen: 4096 }),
      (e: unknown) => e instanceof ErrnoError && e.code === 'EAGAIN',
    );
    const m = await conn.recvmsg({ flags: C.MSG_SOCK_DEVMEM, controlLen: 80_000, iovLen: 65536 });
    assert.ok(m.length > 0);
    assert.ok(m.cmsgs.some((c) => c.kind === 'dmabuf'), 'device-memory pieces were still there');
    conn.close();
    ls.close();
    nl.close();
  });
});
