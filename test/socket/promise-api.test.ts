/**
 * The promise `Socket` over the syscall layer: every call with its own state (several
 * outstanding recvmsg calls get disjoint bytes in FIFO order, readable and devmem), sends that
 * wait for memory instead of failing with ENOBUFS, and no promise outliving close — of the
 * socket, its fd, the host or the network.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError, Network, NcdevmemPattern } from '../../src/index.js';
import { bindDevmem, connectPair, listen, makePair, PORT } from '../e2e/helpers.js';

const pattern = (n: number, seed = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ErrnoError && e.code === code);
}

describe('concurrent calls on one socket', () => {
  it('two outstanding recvmsg calls get disjoint bytes in FIFO order (review finding)', async () => {
    const p = makePair();
    const { cs, conn } = await connectPair(p);
    const r1 = conn.recvmsg({ iovLen: 10 });
    const r2 = conn.recvmsg({ iovLen: 10 });
    const r3 = conn.recv(10);
    assert.equal(conn.pendingCalls, 3);
    const data = pattern(25);
    await cs.send(data);
    const [m1, m2] = await Promise.all([r1, r2]);
    assert.equal(m1.length, 10);
    assert.deepEqual([...m1.bytes], [...data.subarray(0, 10)]);
    assert.equal(m2.length, 10, 'the second call gets its own 10 bytes, not zeros');
    assert.deepEqual([...m2.bytes], [...data.subarray(10, 20)]);
    const b3 = await r3;
    assert.deepEqual([...b3], [...data.subarray(20, 25)]);
    assert.equal(conn.ioctl(C.FIONREAD), 0, 'nothing left queued');
    p.net.close();
  });

  it('MSG_WAITALL calls queue behind each other; a peek sees what the next read gets', async () => {
    const p = makePair();
    const { cs, conn } = await connectPair(p);
    const r1 = conn.recv(3000, C.MSG_WAITALL);
    const r2 = conn.recv(100, C.MSG_PEEK);
    const r3 = conn.recv(2000, C.MSG_WAITALL);
    const data = pattern(5000, 3);
    for (let i = 0; i < 5000; i += 500) await cs.send(data.subarray(i, i + 500));
    const [a, b, c] = await Promise.all([r1, r2, r3]);
    assert.deepEqual([...a], [...data.subarray(0, 3000)]);
    assert.deepEqual([...b], [...data.subarray(3000, 3000 + b.length)]);
    assert.ok(b.length > 0);
    assert.deepEqual([...c], [...data.subarray(3000, 5000)]);
    p.net.close();
  });

  it('concurrent sends keep whole messages in call order', async () => {
    const p = makePair();
    const { cs, conn } = await connectPair(p);
    cs.setsockopt(C.SOL_SOCKET, C.SO_SNDBUF, 8192);
    const m1 = pattern(200_000, 1);
    const m2 = pattern(150_000, 2);
    const s1 = cs.send(m1);
    const s2 = cs.send(m2);
    const got: number[] = [];
    while (got.length < 350_000) {
      const b = await conn.recv(65536);
      if (b.length === 0) break;
      for (const x of b) got.push(x);
    }
    assert.equal(await s1, 200_000);
    assert.equal(await s2, 150_000);
    assert.deepEqual(got.slice(0, 200_000), [...m1]);
    assert.deepEqual(got.slice(200_000), [...m2]);
    p.net.close();
  });

  it('two outstanding devmem recvmsg calls get disjoint device-memory pieces', async () => {
    const p = makePair();
    const { id } = await bindDevmem(p, 1 << 22);
    const ls = listen(p);
    const acc = ls.accept();
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    await cs.connect('10.0.0.2', PORT);
    const conn = await acc;
    const opts = { iovLen: 4096, controlLen: 4096, flags: C.MSG_SOCK_DEVMEM };
    const r1 = conn.recvmsg(opts);
    const r2 = conn.recvmsg(opts);
    const g = new NcdevmemPattern(7);
    const buf = new Uint8Array(20_000);
    g.generate(buf, 0, buf.length);
    await cs.send(buf);
    const [m1, m2] = await Promise.all([r1, r2]);
    const pieces = [m1, m2].flatMap((m) => m.cmsgs.filter((c) => c.kind === 'dmabuf'));
    assert.ok(m1.length > 0 && m2.length > 0, 'both calls covered bytes');
    assert.equal(m1.length, m1.cmsgs.reduce((s, c) => s + (c.kind === 'other' ? 0 : c.fragSize), 0));
    assert.equal(m2.length, m2.cmsgs.reduce((s, c) => s + (c.kind === 'other' ? 0 : c.fragSize), 0));
    const tokens = new Set(pieces.map((c) => (c.kind === 'dmabuf' ? c.fragToken : -1)));
    assert.equal(tokens.size, pieces.length, 'distinct tokens');
    for (const c of pieces) if (c.kind === 'dmabuf') assert.equal(c.dmabufId, id);
    // the pieces do not overlap in device memory
    const ranges = pieces.map((c) => (c.kind === 'dmabuf' ? [c.fragOffset, c.fragOffset + c.fragSize] : [0, 0])).sort((x, y) => x[0]! - y[0]!);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0]! >= ranges[i - 1]![1]!, 'disjoint pieces');
    // everything else is still queued for a third call, and every token goes back
    let rest = 20_000 - m1.length - m2.length;
    const all = [...pieces];
    while (rest > 0) {
      const m = await conn.recvmsg(opts);
      rest -= m.length;
      all.push(...m.cmsgs.filter((c) => c.kind === 'dmabuf'));
    }
    const freed = conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, all.map((c) => ({ tokenStart: c.kind === 'dmabuf' ? c.fragToken : 0, tokenCount: 1 })));
    assert.equal(freed, all.length);
    assert.equal(conn.tcpInfo().devmemTokens, 0);
    p.net.close();
  });
});

describe('send waits for memory (sk_stream_wait_memory)', () => {
  it('a send larger than the host memory left completes instead of failing with ENOBUFS', async () => {
    const net = new Network({ seed: 3 });
    const a = net.addHost('a', { memBytes: 3 << 20 });
    const b = net.addHost('b');
    const ea = a.addDevice('eth0', { rxQueues: 1 });
    const eb = b.addDevice('eth0', { rxQueues: 1 });
    net.connect(ea, eb, { gbps: 1, delayUs: 50 });
    a.ip.addAddress('eth0', '10.0.0.1/24');
    b.ip.addAddress('eth0', '10.0.0.2/24');
    const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
    ls.bind('0.0.0.0', 9);
    ls.listen(1);
    const acc = ls.accept();
    const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
    await cs.connect('10.0.0.2', 9);
    const conn = await acc;
    cs.setsockopt(C.SOL_SOCKET, C.SO_SNDBUF, 16 << 20);
    const data = pattern(8 << 20, 5);
    const sent = cs.send(data);
    let got = 0;
    let ok = true;
    while (got < data.length) {
      const chunk = await conn.recv(1 << 20);
      if (chunk.length === 0) break;
      for (let i = 0; i < chunk.length; i += 4099) if (chunk[i] !== data[got + i]) ok = false;
      got += chunk.length;
    }
    assert.equal(await sent, data.length);
    assert.equal(got, data.length);
    assert.ok(ok, 'bytes in order');
    assert.ok(a.kernel.tcp.stats.memWaits > 0, 'the sender did run out of memory and waited');
    net.close();
  });
});

describe('no promise outlives close', () => {
  it('close() settles a pending recv, accept and send with EBADF; later calls fail at once', async () => {
    const p = makePair();
    const { ls, cs, conn } = await connectPair(p);
    const r = cs.recv(100); // conn never sends
    const acc = ls.accept();
    cs.setsockopt(C.SOL_SOCKET, C.SO_SNDBUF, 4096); // conn never reads: the send blocks
    // (a write fills its skb up to the size goal past a small SO_SNDBUF, as Linux: the peer's
    // closed window is what stops the 1 MiB)
    conn.setsockopt(C.SOL_SOCKET, C.SO_RCVBUF, 4096);
    const s = cs.send(pattern(1 << 20));
    await p.net.sleep(1000);
    conn.close();
    ls.close();
    cs.close();
    await rejectsWith(r, 'EBADF');
    await rejectsWith(acc, 'EBADF');
    await rejectsWith(s, 'EBADF');
    await rejectsWith(cs.send(new Uint8Array(1)), 'EBADF');
    await rejectsWith(conn.recv(1), 'EBADF');
    assert.throws(() => cs.getsockname(), (e: unknown) => e instanceof ErrnoError && e.code === 'EBADF');
    p.net.close();
  });

  it('closing the fd through the syscall layer settles the promise calls too', async () => {
    const p = makePair();
    const { conn } = await connectPair(p);
    const r = conn.recv(100);
    assert.equal(p.b.sys.close(conn.fd), 0);
    await rejectsWith(r, 'EBADF');
    p.net.close();
  });

  it('Network.close() settles every pending call with ENETDOWN and fails calls made after it', async () => {
    const p = makePair();
    const { ls, cs, conn } = await connectPair(p);
    const r = conn.recv(100);
    const acc = ls.accept();
    const c2 = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    // a connect that cannot finish: the peer address does not answer
    const cn = c2.connect('10.0.0.77', 80);
    await p.net.sleep(100);
    p.net.close();
    await rejectsWith(r, 'ENETDOWN');
    await rejectsWith(acc, 'ENETDOWN');
    await rejectsWith(cn, 'ENETDOWN');
    await rejectsWith(cs.send(new Uint8Array(10)), 'ENETDOWN');
    await rejectsWith(conn.recv(1), 'ENETDOWN');
    assert.throws(() => p.a.socket(C.AF_INET, C.SOCK_STREAM), (e: unknown) => e instanceof ErrnoError && e.code === 'ENETDOWN');
    assert.equal(p.a.kernel.files.size, 0, 'every fd closed');
  });
});

describe('UDP through the promise API', () => {
  it('sendto / recvfrom with sources; concurrent recvfrom get datagrams in order', async () => {
    const p = makePair();
    const rx = p.b.socket(C.AF_INET6, C.SOCK_DGRAM);
    rx.bind('::', 4000);
    const tx = p.a.socket(C.AF_INET, C.SOCK_DGRAM);
    const g1 = rx.recvfrom(100);
    const g2 = rx.recvfrom(100);
    await tx.sendto(new Uint8Array([1, 2, 3]), '10.0.0.2', 4000);
    await tx.sendto(new Uint8Array([4, 5]), '10.0.0.2', 4000);
    const [d1, d2] = await Promise.all([g1, g2]);
    assert.deepEqual([...d1.bytes], [1, 2, 3]);
    assert.deepEqual([...d2.bytes], [4, 5]);
    assert.equal(d1.from!.family, C.AF_INET6, 'an AF_INET6 socket reports a sockaddr_in6');
    assert.equal(String(d1.from!.addr), '10.0.0.1');
    assert.equal(d1.from!.port, tx.getsockname().port);
    await assert.rejects(tx.send(new Uint8Array(1)), (e: unknown) => e instanceof ErrnoError && e.code === 'EDESTADDRREQ');
    assert.throws(() => rx.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: 1, tokenCount: 1 }]), (e: unknown) => e instanceof ErrnoError && e.code === 'EBADF');
    rx.nonblocking = true;
    await assert.rejects(rx.recv(10), (e: unknown) => e instanceof ErrnoError && e.code === 'EAGAIN');
    p.net.close();
  });
});

describe('non-blocking calls never queue behind blocked ones', () => {
  it('MSG_DONTWAIT recv while a blocking recv waits: EAGAIN at once', async () => {
    const p = makePair();
    const { cs, conn } = await connectPair(p);
    const blocked = conn.recv(10);
    await rejectsWith(conn.recv(10, C.MSG_DONTWAIT), 'EAGAIN');
    await cs.send(new Uint8Array([9]));
    assert.deepEqual([...(await blocked)], [9]);
    p.net.close();
  });
});

describe('IPv6 through the socket layer', () => {
  it('TCP and UDP over fd00::/64: sockaddr_in6 names, data both ways', async () => {
    const net = new Network({ seed: 9 });
    const a = net.addHost('a');
    const b = net.addHost('b');
    const ea = a.addDevice('eth0');
    const eb = b.addDevice('eth0');
    net.connect(ea, eb, { gbps: 10, delayUs: 5 });
    a.ip.addAddress('eth0', 'fd00::1/64');
    b.ip.addAddress('eth0', 'fd00::2/64');
    await net.sleep(3_000_000); // duplicate address detection
    const ls = b.socket(C.AF_INET6, C.SOCK_STREAM);
    ls.setsockopt(C.SOL_IPV6, C.IPV6_V6ONLY, 1);
    ls.bind('::', 80);
    ls.listen(4);
    const acc = ls.accept();
    const cs = a.socket(C.AF_INET6, C.SOCK_STREAM);
    await cs.connect('fd00::2', 80);
    const conn = await acc;
    const peer = conn.getpeername();
    assert.equal(peer.family, C.AF_INET6);
    assert.equal(String(peer.addr), 'fd00::1');
    assert.equal(peer.port, cs.getsockname().port);
    await cs.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await conn.recv(10))], [1, 2, 3]);
    await conn.send(new Uint8Array([4]));
    assert.deepEqual([...(await cs.recv(10))], [4]);
    const u = b.socket(C.AF_INET6, C.SOCK_DGRAM);
    u.bind('fd00::2', 53);
    const ua = a.socket(C.AF_INET6, C.SOCK_DGRAM);
    await ua.sendto(new Uint8Array([7, 7]), 'fd00::2', 53);
    const d = await u.recvfrom(100);
    assert.deepEqual([...d.bytes], [7, 7]);
    assert.equal(String(d.from!.addr), 'fd00::1');
    net.close();
  });
});
