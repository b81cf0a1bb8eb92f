/**
 * The devmem receive path against spec §5 (recvmsg with MSG_SOCK_DEVMEM) and §6
 * (SO_DEVMEM_DONTNEED), end to end through two simulated hosts in virtual time. Every payload
 * byte is checked against the sent stream: dmabuf pieces through the dma-buf exporter
 * (`copyToHost`), linear pieces and plain copies through the iov.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError, type DeviceMemory, type RecvmsgResult, type Socket } from '../../src/index.js';
import { bindDevmem, listen, makePair, PORT, type Pair } from '../e2e/helpers.js';

const PAGE = 4096;
const DEVMEM = C.MSG_SOCK_DEVMEM;

/** the byte stream the client sends: position-dependent, so a piece at a wrong offset fails */
const STREAM = new Uint8Array(1 << 20);
for (let i = 0; i < STREAM.length; i++) STREAM[i] = (Math.imul(i, 0x9e3779b1) >>> 24) ^ (i & 0xff);

const errno = (code: string) => (e: unknown) => e instanceof ErrnoError && e.code === code;

interface Piece {
  off: number;
  size: number;
}

interface Conn {
  p: Pair;
  dmabuf: DeviceMemory;
  id: number;
  cs: Socket;
  conn: Socket;
  /** client sends the next `n` stream bytes and lets them arrive */
  send(n: number): Promise<void>;
  /** checks `m` against the stream at the receive cursor and advances it; returns the pieces */
  check(m: RecvmsgResult): Piece[];
  /** checks `m` against the stream at `at` (PEEK) without moving the cursor */
  checkAt(m: RecvmsgResult, at: number): Piece[];
  /** receive cursor (stream offset of the next unread byte) */
  readonly got: number;
  /** devmem recvmsg with a roomy iov and control buffer */
  recv(opts?: { iovLen?: number; controlLen?: number; flags?: number }): Promise<RecvmsgResult>;
  /** dma-buf pieces of the frags queued on the socket, in stream order (no cmsgs, no tokens) */
  queuedFrags(): Piece[];
  refOf(off: number): number;
  refCount(off: number): number;
  /** net_iovs of the rx queue's page pool currently out of the pool */
  poolInUse(): number;
  dontneed(start: number, count: number): number;
}

async function setup(opts: { timestamps?: boolean } = {}): Promise<Conn> {
  const p = makePair();
  if (opts.timestamps === false) p.a.kernel.tcp.sysctl.tcp_timestamps = p.b.kernel.tcp.sysctl.tcp_timestamps = false;
  const { dmabuf, id } = await bindDevmem(p, 1 << 20);
  const ls = listen(p);
  const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
  cs.setsockopt(C.SOL_TCP, C.TCP_NODELAY, 1);
  const connected = cs.connect('10.0.0.2', PORT);
  const conn = await ls.accept();
  await connected;
  let sent = 0;
  let got = 0;
  const mem = p.b.kernel.mem;
  const refOf = (off: number): number => {
    const a = mem.niovs.areas.find((x) => x !== null && x.bindingId === id && off >= x.baseVirtual && off < x.baseVirtual + x.numNiovs * PAGE);
    assert.ok(a, `no net_iov at dma-buf offset ${off}`);
    return ((a.base + Math.floor((off - a.baseVirtual) / PAGE)) << 1) | 1;
  };
  const checkAt = (m: RecvmsgResult, at: number): Piece[] => {
    const out = new Uint8Array(m.length);
    const pieces: Piece[] = [];
    let o = 0;
    let lin = 0;
    if (m.cmsgs.length === 0) {
      // a plain copy: every byte is in the iov
      assert.equal(m.bytes.length, m.length, 'a plain copy fills the iov');
      out.set(m.bytes);
      o = m.length;
    }
    for (const c of m.cmsgs) {
      assert.equal(c.level, C.SOL_SOCKET);
      if (c.kind === 'linear') {
        assert.equal(c.type, C.SCM_DEVMEM_LINEAR);
        out.set(m.bytes.subarray(lin, lin + c.fragSize), o);
        lin += c.fragSize;
      } else if (c.kind === 'dmabuf') {
        assert.equal(c.type, C.SCM_DEVMEM_DMABUF);
        assert.equal(c.dmabufId, id);
        assert.equal(c.flags, 0);
        assert.ok(c.fragSize > 0 && c.fragSize <= PAGE, `frag_size ${c.fragSize}`);
        assert.equal(Math.floor(c.fragOffset / PAGE), Math.floor((c.fragOffset + c.fragSize - 1) / PAGE), 'a piece stays inside one net_iov');
        out.set(dmabuf.copyToHost(c.fragOffset, c.fragSize), o);
        pieces.push({ off: c.fragOffset, size: c.fragSize });
      } else {
        assert.fail(`unexpected cmsg ${c.level}/${c.type}`);
      }
      o += c.fragSize;
    }
    assert.equal(o, m.length, 'the cmsgs cover exactly the bytes returned');
    if (m.cmsgs.length > 0) assert.equal(m.bytes.length, lin, 'only linear pieces touch the iov');
    assert.deepEqual(out, STREAM.subarray(at, at + m.length), `stream bytes at ${at}`);
    return pieces;
  };
  const c: Conn = {
    p, dmabuf, id, cs, conn,
    async send(n) {
      await cs.send(STREAM.subarray(sent, sent + n));
      sent += n;
      await p.net.sleep(2000);
    },
    check(m) {
      const r = checkAt(m, got);
      got += m.length;
      return r;
    },
    checkAt,
    get got() {
      return got;
    },
    recv(opts = {}) {
      return conn.recvmsg({ iovLen: opts.iovLen ?? 100_000, controlLen: opts.controlLen ?? 8000, flags: opts.flags ?? DEVMEM });
    },
    queuedFrags() {
      const out: Piece[] = [];
      for (let s = conn.tcb.rcvHead; s !== null; s = s.next) {
        for (let i = 0; i < s.nrFrags; i++) out.push({ off: mem.niovDmabufOffset(s.fragRef[i]!) + s.fragOff[i]!, size: s.fragLen[i]! });
      }
      return out;
    },
    refOf,
    refCount: (off) => mem.refCount(refOf(off)),
    poolInUse() {
      const pool = p.eb.rxQueues[p.devq]!.pool!;
      return pool.inflight() - pool.cached;
    },
    dontneed: (start, count) => conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: start, tokenCount: count }]),
  };
  return c;
}

const tokensOf = (m: RecvmsgResult): number[] => m.cmsgs.map((c) => (c.kind === 'dmabuf' ? c.fragToken : -1));
const shape = (m: RecvmsgResult): [string, number][] => m.cmsgs.map((c) => [c.kind, c.kind === 'other' ? -1 : c.fragSize]);
const piecesOf = (m: RecvmsgResult): Piece[] => m.cmsgs.flatMap((c) => (c.kind === 'dmabuf' ? [{ off: c.fragOffset, size: c.fragSize }] : []));
/** dma-buf offsets of the net_iovs (pages) the pieces live on */
const pages = (ps: Piece[]): number[] => [...new Set(ps.map((x) => Math.floor(x.off / PAGE) * PAGE))];

describe('devmem recvmsg (spec §5)', () => {
  it('one piece and one token per frag, tokens from 1, lowest free first, reused after DONTNEED', async () => {
    const t = await setup();
    await t.send(10_000);
    const frags = t.queuedFrags();
    assert.ok(frags.length >= 4, 'the data spans several frags');
    const pgs = pages(frags);
    const onPage = pgs.map((o) => frags.filter((f) => Math.floor(f.off / PAGE) * PAGE === o).length);
    const r0 = pgs.map((o) => t.refCount(o));
    const m = await t.recv();
    assert.equal(m.length, 10_000);
    assert.deepEqual(t.check(m), frags, 'pieces are exactly the frags: a piece never crosses a frag');
    // the skb's frag references went with it; one user reference per token replaced each
    assert.deepEqual(pgs.map((o) => t.refCount(o)), r0);
    assert.deepEqual(tokensOf(m), frags.map((_, i) => i + 1));
    assert.equal(t.conn.tcb.tokens.size, frags.length);
    assert.equal(t.dontneed(2, 2), 2);
    assert.equal(t.dontneed(5, 1), 1);
    const back = [2, 3, 5].map((k) => frags[k - 1]!);
    assert.deepEqual(pgs.map((o) => t.refCount(o)), pgs.map((o, i) => r0[i]! - back.filter((f) => Math.floor(f.off / PAGE) * PAGE === o).length));
    assert.ok(onPage.every((n) => n > 0));
    await t.send(6000);
    const more = t.queuedFrags();
    const m2 = await t.recv();
    assert.equal(m2.length, 6000);
    t.check(m2);
    const expect = [2, 3, 5];
    for (let k = frags.length + 1; expect.length < more.length; k++) expect.push(k);
    assert.deepEqual(tokensOf(m2), expect.slice(0, more.length), 'freed tokens are reused, lowest first');
    assert.equal(t.dontneed(1, 1000), frags.length - 3 + more.length);
    assert.equal(t.conn.tcb.tokens.size, 0);
    t.p.net.close();
  });

  it('a partial read of a frag: the iov length limits coverage, frag_offset continues, the rest gets a new token', async () => {
    const t = await setup();
    await t.send(3000);
    const [f0, f1, f2] = t.queuedFrags();
    assert.ok(f0 && f1 && f2 && f0.size > 150 && f1.size > 700);
    const iov = new Uint8Array(100).fill(0xee);
    const a = await t.conn.recvmsg({ iov, controlLen: 400, flags: DEVMEM });
    assert.equal(a.length, 100, 'the return value counts dmabuf bytes');
    assert.deepEqual(t.check(a), [{ off: f0.off, size: 100 }]);
    assert.deepEqual(tokensOf(a), [1]);
    assert.ok(iov.every((b) => b === 0xee), 'dmabuf pieces never write the iov');
    const b = await t.recv({ iovLen: 50 });
    assert.deepEqual(t.check(b), [{ off: f0.off + 100, size: 50 }]);
    assert.deepEqual(tokensOf(b), [2]);
    assert.equal(t.dontneed(1, 1), 1);
    const c = await t.recv({ iovLen: 2000 });
    assert.equal(c.length, 2000);
    assert.deepEqual(t.check(c), [{ off: f0.off + 150, size: f0.size - 150 }, { off: f1.off, size: 2000 - (f0.size - 150) }]);
    assert.deepEqual(tokensOf(c), [1, 3]);
    const d = await t.recv();
    const f1rest = f1.size - (2000 - (f0.size - 150));
    assert.equal(d.length, 3000 - 2150);
    assert.deepEqual(t.check(d), [{ off: f1.off + f1.size - f1rest, size: f1rest }, f2]);
    assert.deepEqual(tokensOf(d), [4, 5]);
    // five live tokens on the pieces of three frags: each holds its own reference
    assert.equal(t.conn.tcb.tokens.size, 5);
    t.p.net.close();
  });

  it('a control buffer that fills mid-way: bytes of the cmsgs that fit, no MSG_CTRUNC, nothing truncated, CMSG_SPACE(24) = 40 each', async () => {
    const t = await setup();
    await t.send(10_000);
    const frags = t.queuedFrags();
    assert.ok(frags.length >= 7);
    const control = new Uint8Array(119).fill(0xcc);
    const a = await t.conn.recvmsg({ iovLen: 100_000, control, flags: DEVMEM });
    assert.equal(a.length, frags[0]!.size + frags[1]!.size);
    assert.deepEqual(t.check(a), frags.slice(0, 2));
    assert.equal(a.control.length, 80);
    assert.equal(a.flags & C.MSG_CTRUNC, 0);
    assert.ok(control.subarray(80).every((b) => b === 0xcc), 'no partial cmsg is written into the 39 bytes left');
    const dv = new DataView(control.buffer);
    for (const off of [0, 40]) {
      assert.equal(dv.getBigUint64(off, true), 40n);
      assert.equal(dv.getInt32(off + 8, true), 1);
      assert.equal(dv.getInt32(off + 12, true), 79);
    }
    const sizes: [number, number][] = [[40, 1], [79, 1], [80, 2]];
    let next = 2;
    for (const [len, n] of sizes) {
      const m = await t.recv({ controlLen: len });
      assert.equal(m.control.length, 40 * n, `controlLen ${len}`);
      assert.deepEqual(t.check(m), frags.slice(next, next + n));
      next += n;
    }
    assert.deepEqual(tokensOf(a), [1, 2]);
    assert.equal(t.dontneed(2, 1), 1);
    const rest = await t.recv({ controlLen: 80 });
    assert.deepEqual(t.check(rest), frags.slice(next, next + 2));
    assert.deepEqual(tokensOf(rest), [2, 7], 'the next call continues with the lowest free tokens');
    next += 2;
    const tail = await t.recv();
    assert.deepEqual(t.check(tail), frags.slice(next));
    assert.equal(t.got, 10_000);
    t.p.net.close();
  });

  it('token space exhausted: a short return, then EBUSY until a token comes back', async () => {
    const t = await setup();
    t.conn.tcb.tokens.limit = 2;
    await t.send(5000);
    const frags = t.queuedFrags();
    const a = await t.recv();
    assert.deepEqual(t.check(a), frags.slice(0, 2));
    await assert.rejects(t.recv(), errno('EBUSY'));
    assert.equal(t.dontneed(1, 1), 1);
    const b = await t.recv();
    assert.deepEqual(t.check(b), frags.slice(2, 3));
    assert.deepEqual(tokensOf(b), [1]);
    t.p.net.close();
  });
});

describe('devmem recvmsg flags (spec §5.6)', () => {
  it('MSG_PEEK mints new tokens and references every time; the data stays queued; all of them must be returned', async () => {
    const t = await setup();
    // baseline: one full round with everything returned
    await t.send(2000);
    const m0 = await t.recv();
    t.check(m0);
    assert.equal(t.dontneed(1, 100), m0.cmsgs.length);
    const baseline = t.poolInUse();
    await t.send(3000);
    const frags = t.queuedFrags();
    const pgs = pages(frags);
    const refs = () => pgs.map((o) => t.refCount(o));
    const perPage = (k: number) => pgs.map((o) => k * frags.filter((f) => Math.floor(f.off / PAGE) * PAGE === o).length);
    const r0 = refs();
    const add = (k: number) => r0.map((r, i) => r + perPage(k)[i]!);
    const p1 = await t.recv({ flags: DEVMEM | C.MSG_PEEK });
    assert.equal(p1.length, 3000);
    assert.deepEqual(t.checkAt(p1, t.got), frags);
    assert.deepEqual(tokensOf(p1), frags.map((_, i) => i + 1));
    assert.deepEqual(refs(), add(1), 'a peek takes one reference per piece');
    assert.equal(t.conn.tcb.readableBytes, 3000, 'the data stays queued');
    const p2 = await t.recv({ flags: DEVMEM | C.MSG_PEEK });
    assert.deepEqual(piecesOf(p2), frags);
    assert.deepEqual(tokensOf(p2), frags.map((_, i) => frags.length + i + 1));
    assert.deepEqual(refs(), add(2));
    const r = await t.recv();
    assert.deepEqual(t.check(r), frags, 'the read returns the same offsets and sizes');
    assert.deepEqual(tokensOf(r), frags.map((_, i) => 2 * frags.length + i + 1), 'with new tokens');
    assert.equal(t.conn.tcb.readableBytes, 0);
    // the skb is gone (its frag references with it); the tokens pin the net_iovs
    assert.deepEqual(refs(), add(2));
    assert.equal(t.dontneed(2 * frags.length + 1, frags.length), frags.length);
    assert.deepEqual(refs(), add(1));
    assert.equal(t.dontneed(1, frags.length), frags.length);
    assert.deepEqual(refs(), r0, 'still pinned by the second peek');
    assert.equal(t.dontneed(frags.length + 1, frags.length), frags.length);
    assert.deepEqual(refs(), add(-1));
    assert.equal(t.conn.tcb.tokens.size, 0);
    assert.equal(t.poolInUse(), baseline, 'pool in-use back to baseline');
    t.p.net.close();
  });

  it('a partial MSG_PEEK, then a read of the same bytes', async () => {
    const t = await setup();
    await t.send(3000);
    const [f0] = t.queuedFrags();
    const pk = await t.recv({ iovLen: 700, flags: DEVMEM | C.MSG_PEEK });
    assert.deepEqual(t.checkAt(pk, 0), [{ off: f0!.off, size: 700 }]);
    const rd = await t.recv({ iovLen: 700 });
    assert.deepEqual(t.check(rd), [{ off: f0!.off, size: 700 }]);
    assert.deepEqual(tokensOf(pk).concat(tokensOf(rd)), [1, 2]);
    t.p.net.close();
  });

  it('SO_PEEK_OFF: peeks move forward through the queue, reads move the offset back', async () => {
    const t = await setup();
    assert.equal(t.conn.getsockopt(C.SOL_SOCKET, C.SO_PEEK_OFF), -1, 'disabled by default');
    await t.send(3000);
    const [f0, f1] = t.queuedFrags();
    t.conn.setsockopt(C.SOL_SOCKET, C.SO_PEEK_OFF, 0);
    const a = await t.recv({ iovLen: 1000, flags: DEVMEM | C.MSG_PEEK });
    assert.deepEqual(t.checkAt(a, 0), [{ off: f0!.off, size: 1000 }]);
    const b = await t.recv({ iovLen: 1000, flags: DEVMEM | C.MSG_PEEK });
    assert.deepEqual(t.checkAt(b, 1000), [{ off: f0!.off + 1000, size: f0!.size - 1000 }, { off: f1!.off, size: 2000 - f0!.size }]);
    assert.equal(t.conn.getsockopt(C.SOL_SOCKET, C.SO_PEEK_OFF), 2000);
    const c = await t.recv({ iovLen: 500 });
    assert.deepEqual(t.check(c), [{ off: f0!.off, size: 500 }]);
    assert.equal(t.conn.getsockopt(C.SOL_SOCKET, C.SO_PEEK_OFF), 1500);
    const d = await t.recv({ iovLen: 100, flags: DEVMEM | C.MSG_PEEK });
    assert.equal(d.length, 100);
    t.checkAt(d, 2000);
    assert.deepEqual(tokensOf(d), [5]);
    t.p.net.close();
  });

  it('MSG_TRUNC consumes unreadable bytes without cmsgs or tokens, with and without MSG_SOCK_DEVMEM', async () => {
    const t = await setup();
    await t.send(5000);
    const [f0, f1] = t.queuedFrags();
    const r0 = t.refCount(f0!.off);
    const a = await t.recv({ iovLen: 1000, flags: DEVMEM | C.MSG_TRUNC });
    assert.equal(a.length, 1000);
    assert.equal(a.cmsgs.length, 0);
    assert.equal(a.control.length, 0);
    assert.equal(a.bytes.length, 0);
    assert.equal(t.conn.tcb.tokens.size, 0);
    assert.equal(t.refCount(f0!.off), r0, 'no reference taken');
    const b = await t.conn.recvmsg({ iovLen: 500, flags: C.MSG_TRUNC });
    assert.equal(b.length, 500);
    assert.equal(b.bytes.length, 0);
    assert.equal(t.conn.tcb.readableBytes, 3500);
    const skipped = 1500;
    const c = await t.recv({ iovLen: 100 });
    assert.deepEqual(t.checkAt(c, skipped), [{ off: f1!.off + (skipped - f0!.size), size: 100 }]);
    assert.deepEqual(tokensOf(c), [1]);
    t.p.net.close();
  });

  it('MSG_WAITALL with MSG_SOCK_DEVMEM waits for the full length; EOF ends it short', async () => {
    const t = await setup();
    let done = false;
    const pending = t.recv({ iovLen: 6000, flags: DEVMEM | C.MSG_WAITALL }).then((m) => {
      done = true;
      return m;
    });
    await t.send(3000);
    assert.equal(done, false, 'still waiting after 3000 of 6000 bytes');
    await t.send(3000);
    const m = await pending;
    assert.equal(m.length, 6000);
    t.check(m);
    const tail = t.recv({ iovLen: 10_000, flags: DEVMEM | C.MSG_WAITALL });
    await t.send(2000);
    t.cs.close();
    const e = await tail;
    assert.equal(e.length, 2000, 'EOF ends MSG_WAITALL short');
    t.check(e);
    assert.equal((await t.recv()).length, 0);
    t.p.net.close();
  });

  it('MSG_PEEK | MSG_WAITALL waits for the full length, peeks each byte once, and ends short at FIN', async () => {
    const t = await setup();
    let done = false;
    const pending = t.recv({ iovLen: 6000, flags: DEVMEM | C.MSG_PEEK | C.MSG_WAITALL }).then((m) => {
      done = true;
      return m;
    });
    await t.send(3000);
    const first = t.queuedFrags();
    assert.equal(done, false, 'MSG_WAITALL applies to peeks too');
    await t.send(3000);
    const all = t.queuedFrags();
    const m = await pending;
    assert.equal(m.length, 6000);
    assert.deepEqual(t.checkAt(m, 0), all);
    assert.ok(first.length < all.length);
    assert.deepEqual(tokensOf(m), all.map((_, i) => i + 1), 'the second pass went on after the bytes already peeked');
    assert.equal(t.conn.tcb.readableBytes, 6000);
    const tail = t.recv({ iovLen: 10_000, flags: DEVMEM | C.MSG_PEEK | C.MSG_WAITALL });
    t.cs.close();
    const e = await tail;
    assert.equal(e.length, 6000, 'FIN ends a peek short');
    const r = await t.recv({ iovLen: 10_000, flags: DEVMEM | C.MSG_WAITALL });
    assert.deepEqual(t.check(r), all);
    const eof = await t.recv({ flags: DEVMEM | C.MSG_PEEK });
    assert.equal(eof.length, 0, 'a peek at the FIN returns 0');
    assert.equal(t.dontneed(1, 1000), 3 * all.length);
    t.p.net.close();
  });

  it('SO_RCVLOWAT: a blocking devmem recvmsg waits until that many bytes are covered', async () => {
    const t = await setup();
    t.conn.setsockopt(C.SOL_SOCKET, C.SO_RCVLOWAT, 5000);
    let done = false;
    const pending = t.recv().then((m) => {
      done = true;
      return m;
    });
    await t.send(3000);
    assert.equal(done, false, 'still below SO_RCVLOWAT');
    await t.send(3000);
    const m = await pending;
    assert.equal(m.length, 6000);
    t.check(m);
    t.p.net.close();
  });

  it('MSG_WAITALL returns at once when the control buffer fills (the call ends short, it does not wait)', async () => {
    const t = await setup();
    await t.send(10_000);
    const frags = t.queuedFrags();
    const r = await Promise.race([
      t.recv({ iovLen: 10_000, controlLen: 80, flags: DEVMEM | C.MSG_WAITALL }),
      t.p.net.sleep(100_000).then(() => 'timeout' as const),
    ]);
    assert.notEqual(r, 'timeout', 'recvmsg(MSG_WAITALL) hung on a full control buffer');
    if (r === 'timeout') return;
    assert.deepEqual(t.check(r), frags.slice(0, 2));
    // the same with the token space exhausted mid-call
    t.conn.tcb.tokens.limit = 3;
    const s = await Promise.race([
      t.recv({ iovLen: 100_000, flags: DEVMEM | C.MSG_WAITALL }),
      t.p.net.sleep(100_000).then(() => 'timeout' as const),
    ]);
    assert.notEqual(s, 'timeout', 'recvmsg(MSG_WAITALL) hung on a full token table');
    if (s === 'timeout') return;
    assert.deepEqual(t.check(s), frags.slice(2, 3));
    t.p.net.close();
  });
});

/** the connection's first `a` bytes readable (steered off the devmem queue), the next `b` unreadable, or the reverse */
async function mixed(first: 'readable' | 'unreadable', a: number, b: number): Promise<Conn> {
  const t = await setup();
  const rule = () => t.p.b.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstIp: '10.0.0.2', dstPort: PORT, action: t.p.devq });
  if (first === 'readable') {
    t.p.b.ethtool.deleteNtupleRule('eth0', 0);
    await t.send(a);
    rule();
    await t.send(b);
  } else {
    await t.send(a);
    t.p.b.ethtool.deleteNtupleRule('eth0', 0);
    await t.send(b);
  }
  let s = t.conn.tcb.rcvHead;
  assert.ok(s !== null && s.unreadable === (first === 'unreadable'));
  while (s.next !== null) s = s.next;
  assert.equal(s.unreadable, first === 'readable', 'the queue holds both kinds');
  return t;
}

describe('no mixing within one call (spec §5.5)', () => {
  it('readable then unreadable, MSG_SOCK_DEVMEM: a plain copy with no cmsg, then the device pieces', async () => {
    const t = await mixed('readable', 3000, 3000);
    const a = await t.recv();
    assert.equal(a.length, 3000, 'the call stops at the boundary');
    assert.equal(a.cmsgs.length, 0, 'readable data comes back with no cmsg');
    assert.equal(a.control.length, 0);
    t.check(a);
    assert.equal(t.conn.tcb.tokens.size, 0);
    const b = await t.recv();
    assert.equal(b.length, 3000);
    assert.ok(b.cmsgs.length > 0 && b.bytes.length === 0);
    t.check(b);
    t.p.net.close();
  });

  it('readable then unreadable: a partial readable read, MSG_WAITALL stops at the boundary', async () => {
    const t = await mixed('readable', 3000, 3000);
    const a = await t.recv({ iovLen: 1000 });
    assert.equal(a.length, 1000);
    t.check(a);
    const b = await t.recv({ iovLen: 5000, flags: DEVMEM | C.MSG_WAITALL });
    assert.equal(b.length, 2000, 'the boundary ends MSG_WAITALL short');
    assert.equal(b.cmsgs.length, 0);
    t.check(b);
    const c = await t.recv({ iovLen: 3000, flags: DEVMEM | C.MSG_WAITALL });
    assert.equal(c.length, 3000);
    t.check(c);
    t.p.net.close();
  });

  it('readable then unreadable without MSG_SOCK_DEVMEM: a short positive return, then EFAULT', async () => {
    const t = await mixed('readable', 3000, 3000);
    const a = await t.conn.recvmsg({ iovLen: 6000, flags: C.MSG_WAITALL });
    assert.equal(a.length, 3000);
    t.check(a);
    await assert.rejects(t.conn.recvmsg({ iovLen: 6000 }), errno('EFAULT'));
    await assert.rejects(t.conn.recvmsg({ iovLen: 6000, flags: C.MSG_WAITALL }), errno('EFAULT'));
    const b = await t.recv();
    assert.equal(b.length, 3000);
    t.check(b);
    t.p.net.close();
  });

  it('unreadable then readable: the device pieces only, then a plain copy with no cmsg', async () => {
    const t = await mixed('unreadable', 3000, 3000);
    const a = await t.recv({ iovLen: 6000, flags: DEVMEM | C.MSG_WAITALL });
    assert.equal(a.length, 3000, 'MSG_WAITALL ends at the unreadable/readable boundary');
    assert.equal(a.bytes.length, 0);
    t.check(a);
    const b = await t.recv();
    assert.equal(b.length, 3000);
    assert.equal(b.cmsgs.length, 0);
    t.check(b);
    t.p.net.close();
  });

  it('unreadable then readable without MSG_SOCK_DEVMEM: EFAULT with nothing copied, MSG_TRUNC skips, then plain reads', async () => {
    const t = await mixed('unreadable', 3000, 3000);
    await assert.rejects(t.conn.recvmsg({ iovLen: 6000 }), (e: unknown) => e instanceof ErrnoError && e.errno === 14);
    assert.equal(t.conn.tcb.readableBytes, 6000, 'nothing consumed');
    const a = await t.conn.recvmsg({ iovLen: 2000, flags: C.MSG_TRUNC });
    assert.equal(a.length, 2000);
    assert.equal(a.bytes.length, 0);
    await assert.rejects(t.conn.recvmsg({ iovLen: 6000 }), errno('EFAULT'));
    // MSG_TRUNC does not stop at the boundary (nothing is copied)
    const b = await t.conn.recvmsg({ iovLen: 2000, flags: C.MSG_TRUNC });
    assert.equal(b.length, 2000);
    const c = await t.conn.recvmsg({ iovLen: 6000 });
    assert.equal(c.length, 2000);
    t.checkAt(c, 4000);
    t.p.net.close();
  });
});

describe('SCM_DEVMEM_LINEAR (payload bytes in the head of an unreadable skb)', () => {
  /**
   * the NIC splits at a fixed 100 payload bytes: every full segment has a 100-byte linear part
   * (no timestamp option: 20-byte TCP headers and 1460-byte segments)
   */
  async function linearSetup(): Promise<Conn> {
    const t = await setup({ timestamps: false });
    t.p.b.ethtool.setRings('eth0', { hdsFixedSplit: 14 + 20 + 20 + 100 });
    return t;
  }

  it('linear bytes go to the iov with a LINEAR cmsg (byte-exact layout), frags stay on the device', async () => {
    const t = await linearSetup();
    await t.send(2920); // two full segments
    const head = t.conn.tcb.rcvHead;
    assert.ok(head !== null && head.unreadable && head.tail - head.data === 100);
    const m = await t.recv();
    assert.equal(m.length, 2920);
    t.check(m);
    const kinds = m.cmsgs.map((c) => c.kind);
    assert.equal(kinds[0], 'linear');
    assert.equal(kinds.filter((k) => k === 'linear').length, 2);
    assert.deepEqual(m.bytes, Uint8Array.from([...STREAM.subarray(0, 100), ...STREAM.subarray(1460, 1560)]));
    const dv = new DataView(m.control.buffer, m.control.byteOffset, m.control.byteLength);
    assert.equal(dv.getBigUint64(0, true), 40n);
    assert.equal(dv.getInt32(8, true), 1);
    assert.equal(dv.getInt32(12, true), 78);
    assert.equal(dv.getBigUint64(16, true), 0n, 'frag_offset 0');
    assert.equal(dv.getUint32(24, true), 100);
    assert.deepEqual([dv.getUint32(28, true), dv.getUint32(32, true), dv.getUint32(36, true)], [0, 0, 0], 'token, dmabuf_id, flags 0');
    assert.deepEqual(tokensOf(m).filter((x) => x > 0), m.cmsgs.filter((c) => c.kind === 'dmabuf').map((_, i) => i + 1), 'LINEAR pieces take no token');
    t.p.net.close();
  });

  it('partial linear reads, and a control buffer with room for the LINEAR cmsg only', async () => {
    const t = await linearSetup();
    await t.send(1460);
    const frags = t.queuedFrags();
    const a = await t.recv({ iovLen: 60 });
    assert.equal(a.length, 60);
    assert.deepEqual(shape(a), [['linear', 60]]);
    t.check(a);
    const b = await t.recv({ controlLen: 40 });
    assert.equal(b.length, 40, 'the frag cmsg did not fit: the linear bytes are returned');
    assert.deepEqual(shape(b), [['linear', 40]]);
    t.check(b);
    assert.equal(t.conn.tcb.tokens.size, 0);
    await assert.rejects(t.recv({ controlLen: 0 }), (e: unknown) => e instanceof ErrnoError && e.errno === 525);
    const c = await t.recv();
    assert.deepEqual(t.check(c), frags);
    assert.deepEqual(tokensOf(c), frags.map((_, i) => i + 1));
    t.p.net.close();
  });

  it('a short frame held entirely in the head is readable: the devmem call stops before it', async () => {
    const t = await linearSetup();
    await t.send(3000); // 1460 + 1460 + 80: the last frame is below the split
    let s = t.conn.tcb.rcvHead;
    while (s !== null && s.next !== null) s = s.next;
    assert.ok(s !== null && !s.unreadable && s.len === 80);
    const a = await t.recv({ iovLen: 3000, flags: DEVMEM | C.MSG_WAITALL });
    assert.equal(a.length, 2920);
    t.check(a);
    const b = await t.recv();
    assert.equal(b.length, 80);
    assert.equal(b.cmsgs.length, 0);
    t.check(b);
    t.p.net.close();
  });
});

describe('SO_DEVMEM_DONTNEED (spec §6)', () => {
  async function holding(n: number): Promise<Conn> {
    const t = await setup();
    await t.send(n);
    const m = await t.recv();
    t.check(m);
    return t;
  }
  const raw = (ranges: [number, number][]): Uint8Array => {
    const b = new Uint8Array(ranges.length * 8);
    const dv = new DataView(b.buffer);
    ranges.forEach(([s, c], i) => {
      dv.setUint32(i * 8, s, true);
      dv.setUint32(i * 8 + 4, c, true);
    });
    return b;
  };

  it('optlen rules in the kernel order: < 4, then % 8 and > 1024 are EINVAL', async () => {
    const t = await holding(10_000);
    const set = (v: Uint8Array | number) => t.conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, v);
    for (const len of [0, 1, 2, 3, 4, 7, 12, 1025, 1032]) assert.throws(() => set(new Uint8Array(len)), errno('EINVAL'), `optlen ${len}`);
    assert.throws(() => set(7), errno('EINVAL'), 'an int option value');
    assert.throws(() => t.conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, []), errno('EINVAL'), 'an empty array is optlen 0');
    assert.equal(set(new Uint8Array(1024)), 0, '128 empty ranges are fine');
    assert.equal(set(raw([[1, 2]])), 2, 'raw struct dmabuf_token bytes');
    assert.throws(() => t.conn.getsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED), errno('ENOPROTOOPT'));
    t.p.net.close();
  });

  it('returns the freed count; misses count toward the 1024 budget; duplicates count once; the index wraps at 2^32', async () => {
    const t = await holding(16_000);
    const n = t.conn.tcb.tokens.size;
    assert.ok(n >= 12);
    const set = (ranges: [number, number][]) => t.conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, raw(ranges));
    // 0xffffffff, 0, 1: u32 arithmetic reaches token 1
    assert.equal(set([[0xffffffff, 3]]), 1);
    // 1020 misses, then 4 probes left: tokens 2..5
    assert.equal(set([[1_000_000, 1020], [2, 10]]), 4);
    assert.equal(set([[6, 0]]), 0);
    // exactly 1024 probes is allowed, the 1025th is not
    assert.equal(set([[1_000_000, 1023], [6, 1]]), 1);
    assert.equal(set([[1_000_000, 1024], [7, 1]]), 0);
    // duplicates and overlaps within one call
    assert.equal(set([[7, 1], [7, 1], [7, 3], [8, 1]]), 3);
    assert.equal(t.conn.tcb.tokens.size, n - 9);
    // the freed tokens are reused lowest first
    await t.send(3000);
    const m = await t.recv();
    t.check(m);
    assert.deepEqual(tokensOf(m), [1, 2, 3, 4, 5, 6, 7, 8, 9].slice(0, m.cmsgs.length));
    t.p.net.close();
  });

  it('close returns the tokens minted by MSG_PEEK along with the queued data', async () => {
    const t = await setup();
    await t.send(3000);
    const frags = t.queuedFrags();
    const pgs = pages(frags);
    const r0 = pgs.map((o) => t.refCount(o));
    const onPage = (o: number) => frags.filter((f) => Math.floor(f.off / PAGE) * PAGE === o).length;
    const pk = await t.recv({ flags: DEVMEM | C.MSG_PEEK });
    t.checkAt(pk, 0);
    const pk2 = await t.recv({ flags: DEVMEM | C.MSG_PEEK });
    assert.equal(pk2.cmsgs.length, frags.length);
    assert.deepEqual(pgs.map((o) => t.refCount(o)), pgs.map((o, i) => r0[i]! + 2 * onPage(o)));
    const refs = pgs.map((o) => t.refOf(o));
    t.conn.close();
    assert.equal(t.conn.tcb.tokens.size, 0);
    // both the peek tokens and the skb's frag references are gone
    assert.deepEqual(refs.map((r) => t.p.b.kernel.mem.refCount(r)), pgs.map((o, i) => r0[i]! - onPage(o)));
    t.p.net.close();
  });
});
