import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError, NcdevmemPattern } from '../../src/index.js';
import { bindDevmem, makePair, patternConn } from './helpers.js';

/** receives everything with MSG_SOCK_DEVMEM, validating on the device and returning tokens */
async function devmemReceive(conn: import('../../src/index.js').Socket, dmabuf: import('../../src/index.js').DeviceMemory, id: number, opts: { holdTokens?: boolean } = {}) {
  const pattern = new NcdevmemPattern(7);
  let bytes = 0;
  let issued = 0;
  let returned = 0;
  let bad = 0;
  let linear = 0;
  const held: number[] = [];
  for (;;) {
    const m = await conn.recvmsg({ iovLen: 800 * 1024, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM });
    if (m.length === 0) break;
    let covered = 0;
    let lin = 0;
    for (const c of m.cmsgs) {
      if (c.kind === 'linear') {
        bad += pattern.check(m.bytes, lin, c.fragSize);
        lin += c.fragSize;
        linear += c.fragSize;
        covered += c.fragSize;
      } else if (c.kind === 'dmabuf') {
        assert.equal(c.dmabufId, id, 'flow steering error');
        bad += dmabuf.validate(c.fragOffset, c.fragSize, pattern);
        covered += c.fragSize;
        issued++;
        if (opts.holdTokens) held.push(c.fragToken);
        else returned += conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: c.fragToken, tokenCount: 1 }]);
      }
    }
    assert.equal(covered, m.length, 'cmsgs cover exactly the bytes returned');
    bytes += m.length;
  }
  return { bytes, issued, returned, bad, linear, held };
}

describe('devmem TCP end to end', () => {
  it('delivers 4 MiB into device memory, validated on the device, host reads 0 bytes', async () => {
    const p = makePair();
    const { dmabuf, nl, id } = await bindDevmem(p, 8 << 20);
    const size = 4 << 20;
    const { ls, sender, conn } = await patternConn(p, size);
    const r = await devmemReceive(conn, dmabuf, id);
    await sender;
    assert.equal(r.bytes, size);
    assert.equal(r.bad, 0);
    assert.equal(r.linear, 0);
    assert.ok(r.issued > size / 4096);
    assert.equal(r.returned, r.issued);
    assert.equal(dmabuf.stats.hostBytesRead, 0);
    assert.ok(dmabuf.stats.dmaBytesWritten >= size);
    const q = p.eb.rxQueues[p.devq]!;
    assert.ok(q.stats.rxPackets > 0);
    assert.equal(q.stats.rxCsumUnnecessary, q.stats.rxPackets);
    conn.close();
    ls.close();
    nl.close();
    p.net.close();
  });

  it('recovers from 2% loss and ends with every token returned', async () => {
    const p = makePair({ seed: 3, wire: { loss: 0.02 } });
    const { dmabuf, id } = await bindDevmem(p, 8 << 20);
    const size = 2 << 20;
    const { sender, conn } = await patternConn(p, size);
    const r = await devmemReceive(conn, dmabuf, id);
    await sender;
    assert.equal(r.bytes, size);
    assert.equal(r.bad, 0);
    assert.equal(r.returned, r.issued);
    assert.ok(p.net.wires[0]!.stats.aToB.lost > 0, 'the wire did drop packets');
    p.net.close();
  });

  it('recvmsg without MSG_SOCK_DEVMEM on device-memory data fails with EFAULT', async () => {
    const p = makePair();
    await bindDevmem(p, 4 << 20);
    const { sender, conn } = await patternConn(p, 10_000);
    await conn.readable();
    await assert.rejects(conn.recvmsg({ iovLen: 4096 }), (e: unknown) => e instanceof ErrnoError && e.code === 'EFAULT' && e.errno === 14);
    // MSG_TRUNC discards unreadable data without the flag
    const t = await conn.recvmsg({ iovLen: 100, flags: C.MSG_TRUNC });
    assert.equal(t.length, 100);
    await sender;
    p.net.close();
  });

  it('writes byte-exact Linux cmsgs: 16-byte cmsghdr + 24-byte dmabuf_cmsg, CMSG_SPACE 40', async () => {
    const p = makePair();
    const { dmabuf, id } = await bindDevmem(p, 4 << 20);
    const { sender, conn } = await patternConn(p, 3000);
    await conn.readable();
    const m = await conn.recvmsg({ iovLen: 2000, controlLen: 200, flags: C.MSG_SOCK_DEVMEM });
    assert.equal(m.length, 2000);
    assert.equal(m.bytes.length, 0, 'dmabuf pieces do not touch the iov');
    assert.equal(m.control.length % 40, 0);
    const dv = new DataView(m.control.buffer, m.control.byteOffset, m.control.byteLength);
    let total = 0;
    for (let off = 0; off < m.control.length; off += 40) {
      assert.equal(dv.getBigUint64(off, true), 40n, 'cmsg_len = CMSG_LEN(24)');
      assert.equal(dv.getInt32(off + 8, true), 1, 'SOL_SOCKET');
      assert.equal(dv.getInt32(off + 12, true), 79, 'SCM_DEVMEM_DMABUF');
      const c = m.cmsgs[off / 40]!;
      assert.equal(c.kind, 'dmabuf');
      if (c.kind !== 'dmabuf') continue;
      assert.equal(Number(dv.getBigUint64(off + 16, true)), c.fragOffset);
      assert.equal(dv.getUint32(off + 24, true), c.fragSize);
      assert.equal(dv.getUint32(off + 28, true), c.fragToken);
      assert.equal(dv.getUint32(off + 32, true), id);
      assert.equal(dv.getUint32(off + 36, true), 0, 'flags');
      assert.ok(c.fragSize <= 4096);
      total += c.fragSize;
    }
    assert.equal(total, 2000);
    assert.deepEqual(m.cmsgs.map((c) => (c.kind === 'dmabuf' ? c.fragToken : 0)), m.cmsgs.map((_, i) => i + 1), 'tokens from 1 upward');
    assert.equal(dmabuf.stats.hostBytesRead, 0);
    await sender;
    p.net.close();
  });

  it('a control buffer too small for one cmsg fails with ETOOSMALL and loses nothing', async () => {
    const p = makePair();
    await bindDevmem(p, 4 << 20);
    const { sender, conn } = await patternConn(p, 5000);
    await conn.readable();
    await assert.rejects(conn.recvmsg({ iovLen: 5000, controlLen: 39, flags: C.MSG_SOCK_DEVMEM }), (e: unknown) => e instanceof ErrnoError && e.errno === 525);
    const m = await conn.recvmsg({ iovLen: 5000, controlLen: 40, flags: C.MSG_SOCK_DEVMEM });
    assert.equal(m.cmsgs.length, 1);
    assert.equal(m.flags & C.MSG_CTRUNC, 0);
    const c = m.cmsgs[0]!;
    assert.ok(c.kind === 'dmabuf' && c.fragToken === 1, 'the failed call minted no token');
    await sender;
    p.net.close();
  });

  it('SO_DEVMEM_DONTNEED returns the freed count; unknown and repeated tokens count 0', async () => {
    const p = makePair();
    const { dmabuf, id } = await bindDevmem(p, 4 << 20);
    const { sender, conn } = await patternConn(p, 64 * 1024);
    const r = await devmemReceive(conn, dmabuf, id, { holdTokens: true });
    assert.equal(r.bytes, 64 * 1024);
    const n = r.held.length;
    assert.ok(n >= 16);
    assert.equal(conn.tcb.tokens.size, n);
    assert.equal(conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: 1, tokenCount: 3 }]), 3);
    assert.equal(conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: 1, tokenCount: 3 }]), 0);
    assert.equal(conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: 1, tokenCount: 0 }]), 0);
    // a huge range stops after 1024 probes
    assert.equal(conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: 4, tokenCount: 4_000_000_000 }]), Math.min(n - 3, 1021));
    // optlen rules
    const bad = (v: Uint8Array) => assert.throws(() => conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, v), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    bad(new Uint8Array(3));
    bad(new Uint8Array(12));
    bad(new Uint8Array(1032));
    assert.throws(() => conn.getsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED), (e: unknown) => e instanceof ErrnoError && e.code === 'ENOPROTOOPT');
    await sender;
    p.net.close();
  });

  it('close returns every outstanding token to the page pool', async () => {
    const p = makePair();
    const { dmabuf, id, nl } = await bindDevmem(p, 4 << 20);
    const { sender, conn } = await patternConn(p, 256 * 1024);
    const r = await devmemReceive(conn, dmabuf, id, { holdTokens: true });
    await sender;
    const pool = p.eb.rxQueues[p.devq]!.pool;
    assert.ok(r.held.length > 60);
    const inUseBefore = pool.inflight() - pool.cached;
    assert.ok(inUseBefore > 0, 'tokens pin net_iovs');
    conn.close();
    assert.equal(conn.tcb.tokens.size, 0);
    // everything but the NIC's partly filled current buffer is back in the pool
    assert.ok(pool.inflight() - pool.cached <= 1, `in use after close: ${pool.inflight() - pool.cached}`);
    // unbinding with nothing held frees the binding once the pool drains
    nl.close();
    p.net.close();
  });

  it('a device memory that runs dry drops packets (rx-alloc-fail) and the transfer completes once tokens return', async () => {
    const p = makePair();
    // 32 pages: far less than the data in flight
    const { dmabuf, id } = await bindDevmem(p, 32 * 4096);
    const size = 1 << 20;
    const { sender, conn } = await patternConn(p, size);
    // A receive window larger than the device memory could let out-of-order data pin every
    // buffer while the hole can never land (Linux behaves the same: size the dma-buf above the
    // window, spec §3.7). 32 KiB of window against 128 KiB of device memory.
    conn.setsockopt(C.SOL_SOCKET, C.SO_RCVBUF, 32 * 1024);
    // hold every token until the NIC has had to drop for lack of buffers, then give them back
    const q = p.eb.rxQueues[p.devq]!;
    const pattern = new NcdevmemPattern(7);
    let bytes = 0;
    let held: number[] = [];
    let bad = 0;
    let issued = 0;
    let returned = 0;
    const giveBack = () => {
      for (const t of held) returned += conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: t, tokenCount: 1 }]);
      held = [];
    };
    for (;;) {
      let m;
      try {
        m = await conn.recvmsg({ iovLen: 800 * 1024, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM | C.MSG_DONTWAIT });
      } catch (e) {
        if (!(e instanceof ErrnoError) || e.code !== 'EAGAIN') throw e;
        if (q.stats.rxAllocFail > 0) giveBack();
        await Promise.race([conn.readable(), p.net.sleep(2000)]);
        continue;
      }
      if (m.length === 0) break;
      for (const c of m.cmsgs) {
        if (c.kind !== 'dmabuf') continue;
        assert.equal(c.dmabufId, id);
        bad += dmabuf.validate(c.fragOffset, c.fragSize, pattern);
        held.push(c.fragToken);
        issued++;
      }
      bytes += m.length;
      if (q.stats.rxAllocFail > 0) giveBack();
    }
    for (const t of held) returned += conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: t, tokenCount: 1 }]);
    await sender;
    assert.equal(bytes, size);
    assert.equal(bad, 0);
    assert.equal(returned, issued);
    assert.ok(q.stats.rxAllocFail > 0, 'the NIC ran out of device memory');
    assert.ok(q.pool.stats.allocEmpty > 0);
    assert.ok(conn.tcb.stats.dupSegsIn + p.net.hosts[0]!.kernel.tcp.stats.retransSegs > 0, 'TCP retransmitted the drops');
    p.net.close();
  });
});

describe('devmemChunks iterator', () => {
  it('yields device-memory chunks; release() returns their tokens in ranges', async () => {
    const { devmemChunks } = await import('../../src/index.js');
    const p = makePair();
    const { dmabuf, id } = await bindDevmem(p, 8 << 20);
    const size = 1 << 20;
    const { sender, conn } = await patternConn(p, size);
    const pattern = new NcdevmemPattern(7);
    let bytes = 0;
    let issued = 0;
    let freed = 0;
    let bad = 0;
    for await (const batch of devmemChunks(conn)) {
      for (const c of batch.chunks) {
        assert.equal(c.kind, 'dmabuf');
        assert.equal(c.dmabufId, id);
        bad += dmabuf.validate(c.offset, c.size, pattern);
        issued++;
      }
      bytes += batch.length;
      freed += batch.release();
      assert.equal(batch.release(), 0, 'idempotent');
    }
    await sender;
    assert.equal(bytes, size);
    assert.equal(bad, 0);
    assert.equal(freed, issued);
    assert.equal(conn.tcb.tokens.size, 0);
    p.net.close();
  });
});

describe('devmem TCP over IPv6', () => {
  it('AF_INET6 sockets, tcp6 n-tuple rule: 4 MiB into device memory with 1% loss, every token returned, host reads 0 bytes', async () => {
    const p = makePair({ seed: 17, wire: { loss: 0.01 } });
    p.a.ip.addAddress('eth0', '2001:db8::1/64');
    p.b.ip.addAddress('eth0', '2001:db8::2/64');
    p.b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    p.b.ethtool.setRss('eth0', { equal: p.devq });
    p.b.ethtool.addNtupleRule('eth0', { flowType: 'tcp6', dstIp: '2001:db8::2', dstPort: 5201, action: p.devq });
    const dmabuf = p.b.allocDeviceMemory(8 << 20);
    const nl = p.b.netlink();
    const { id } = await nl.netdev.bindRx({ ifindex: p.eb.ifindex, fd: dmabuf.fd, queues: [{ id: p.devq, type: 'rx' }] });
    await p.net.sleep(3_000_000); // duplicate address detection
    const ls = p.b.socket(C.AF_INET6, C.SOCK_STREAM);
    ls.bind('::', 5201);
    ls.listen(8);
    const size = 4 << 20;
    const sender = (async () => {
      const cs = p.a.socket(C.AF_INET6, C.SOCK_STREAM);
      await cs.connect('2001:db8::2', 5201);
      const g = new NcdevmemPattern(7);
      const buf = new Uint8Array(64 * 1024);
      for (let sent = 0; sent < size; sent += buf.length) {
        g.generate(buf, 0, buf.length);
        await cs.send(buf);
      }
      cs.close();
    })();
    const conn = await ls.accept();
    const r = await devmemReceive(conn, dmabuf, id);
    await sender;
    assert.equal(r.bytes, size);
    assert.equal(r.bad, 0);
    assert.equal(r.linear, 0, 'header split put every payload byte in device memory');
    assert.equal(r.returned, r.issued);
    assert.equal(dmabuf.stats.hostBytesRead, 0);
    assert.equal(conn.tcb.raddr.toString(), '2001:db8::1');
    assert.ok(p.net.wires[0]!.stats.aToB.lost > 0);
    conn.close();
    ls.close();
    nl.close();
    p.net.close();
  });
});
