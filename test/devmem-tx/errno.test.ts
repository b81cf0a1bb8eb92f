/**
 * Spec §7.7, one test per row (and §7.2 / §7.3 ordering): the errno of a devmem sendmsg and the
 * step of tcp_sendmsg_locked that returns it. Every refused call leaves no binding reference and
 * no queued byte behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants as C, InetAddr } from '../../src/index.js';
import { TcpSockFile, encodeSendCmsg } from '../../src/socket/index.js';
import { devSend, eq, iovs, makePair, run, tcpFd, txSetup } from './helpers.js';

const { SOL_SOCKET, SCM_DEVMEM_DMABUF, MSG_ZEROCOPY } = C;

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** the binding's reference count once the test's setup holds (netlink only) */
function bindingRefs(s: Awaited<ReturnType<typeof txSetup>>): number {
  return s.a.kernel.bindings.lookup(s.id)!.refCount;
}

function unacked(s: Awaited<ReturnType<typeof txSetup>>): number {
  return s.a.sys.ioctl(s.cfd, C.SIOCOUTQ);
}

describe('§7.7 SCM_DEVMEM_DMABUF with wrong cmsg_len → EINVAL', () => {
  it('cmsg_len must be exactly CMSG_LEN(4) = 20', async () => {
    const s = await txSetup();
    const refs = bindingRefs(s);
    for (const data of [new Uint8Array(8), new Uint8Array(2), new Uint8Array(0), new Uint8Array(5)]) {
      if (data.length > 0) data[0] = s.id;
      const ctl = encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data }]);
      eq(devSend(s.a, s.cfd, ctl, [[0, 100]]), 'EINVAL', `payload ${data.length}`);
    }
    // the same id with the right length is accepted: the length, not the id, was refused
    const good = encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: u32(s.id) }]);
    assert.equal(good.length, 24, 'CMSG_SPACE(4)');
    assert.equal(new DataView(good.buffer).getUint32(0, true), 20, 'cmsg_len = CMSG_LEN(4)');
    eq(devSend(s.a, s.cfd, good, [[0, 100]], MSG_ZEROCOPY), 100);
    assert.equal(bindingRefs(s) >= refs, true);
  });

  it('a cmsg header that does not fit (CMSG_OK) is EINVAL; other levels are skipped', async () => {
    const s = await txSetup();
    // cmsg_len 100 in a 24-byte buffer
    const over = encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: u32(s.id), len: 100 }]);
    eq(devSend(s.a, s.cfd, over, [[0, 10]]), 'EINVAL', 'overrun');
    const under = encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: u32(s.id), len: 15 }]);
    eq(devSend(s.a, s.cfd, under, [[0, 10]]), 'EINVAL', 'shorter than a header');
    // an unknown SOL_SOCKET type is EINVAL; an IPPROTO_IP cmsg is not sock_cmsg_send's business
    const unknown = encodeSendCmsg([{ level: SOL_SOCKET, type: 4242, data: u32(1) }]);
    eq(devSend(s.a, s.cfd, unknown, [[0, 10]]), 'EINVAL', 'unknown type');
    const ipLevel = encodeSendCmsg([
      { level: C.SOL_IP, type: 1, data: u32(7) },
      { level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: u32(s.id) },
    ]);
    eq(devSend(s.a, s.cfd, ipLevel, [[0, 10]]), 10, 'SOL_IP skipped, devmem cmsg second');
    // a trailing partial header (< 16 bytes) is not a cmsg (CMSG_NXTHDR stops)
    const tail = new Uint8Array(24 + 8);
    tail.set(encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: u32(s.id) }]));
    tail.fill(0xff, 24);
    eq(devSend(s.a, s.cfd, tail, [[0, 10]]), 10, 'trailing bytes');
  });

  it('the cmsg error is reported after the connection wait: EPIPE on an unconnected socket', () => {
    const p = makePair();
    const fd = tcpFd(p.a);
    eq(p.a.sys.setsockopt(fd, SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    const bad = encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: new Uint8Array(8) }]);
    eq(devSend(p.a, fd, bad, [[0, 10]]), 'EPIPE');
  });
});

describe('§7.7 dmabuf id given but no MSG_ZEROCOPY or no SO_ZEROCOPY → EINVAL', () => {
  it('without MSG_ZEROCOPY', async () => {
    const s = await txSetup();
    const refs = bindingRefs(s);
    eq(devSend(s.a, s.cfd, s.id, [[0, 100]], 0), 'EINVAL');
    eq(devSend(s.a, s.cfd, s.id, [[0, 100]], C.MSG_DONTWAIT), 'EINVAL');
    assert.equal(bindingRefs(s), refs, 'no binding reference left');
    assert.equal(unacked(s), 0, 'nothing queued');
  });

  it('without SO_ZEROCOPY (MSG_ZEROCOPY alone does not do)', async () => {
    const s = await txSetup({ zerocopy: false });
    eq(devSend(s.a, s.cfd, s.id, [[0, 100]]), 'EINVAL');
    // turning it on makes the same call work
    eq(s.a.sys.setsockopt(s.cfd, SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    eq(devSend(s.a, s.cfd, s.id, [[0, 100]]), 100);
  });

  it('is checked before the connection wait (EINVAL, not EPIPE, on an unconnected socket)', () => {
    const p = makePair();
    const fd = tcpFd(p.a);
    eq(devSend(p.a, fd, 1, [[0, 10]], 0), 'EINVAL');
  });

  it('a devmem send of 0 bytes looks nothing up and returns 0', async () => {
    const s = await txSetup();
    eq(devSend(s.a, s.cfd, 0x7777, [], MSG_ZEROCOPY), 0, 'no iovecs');
    eq(devSend(s.a, s.cfd, 0x7777, [[0, 0]], MSG_ZEROCOPY), 0, 'an empty iovec');
    // without MSG_ZEROCOPY the id is refused even for 0 bytes
    eq(devSend(s.a, s.cfd, 0x7777, [], 0), 'EINVAL');
  });
});

describe('§7.7 unknown id, id of an RX binding, binding being unbound → EINVAL', () => {
  it('an id nobody bound', async () => {
    const s = await txSetup();
    eq(devSend(s.a, s.cfd, s.id + 100, [[0, 100]]), 'EINVAL');
    eq(devSend(s.a, s.cfd, 0xffffffff, [[0, 100]]), 'EINVAL');
  });

  it('the id of an RX binding (no tx_vec)', async () => {
    const s = await txSetup();
    s.a.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    const rxmem = s.a.allocDeviceMemory(16 * 4096);
    const { id: rxId } = await s.nl.netdev.bindRx({ ifindex: s.ea.ifindex, fd: rxmem.fd, queues: [{ id: 3, type: 'rx' }] });
    const refs = s.a.kernel.bindings.lookup(rxId)!.refCount;
    eq(devSend(s.a, s.cfd, rxId, [[0, 100]]), 'EINVAL');
    assert.equal(s.a.kernel.bindings.lookup(rxId)!.refCount, refs, 'the lookup reference was dropped');
  });

  it('a binding whose netlink socket closed (unbound)', async () => {
    const s = await txSetup();
    eq(devSend(s.a, s.cfd, s.id, [[0, 10]]), 10);
    run(s);
    s.nl.close();
    eq(devSend(s.a, s.cfd, s.id, [[0, 10]]), 'EINVAL');
  });

  it('id 0 means "no devmem": the iovecs are host addresses our model has no memory behind (EFAULT)', async () => {
    const s = await txSetup();
    eq(devSend(s.a, s.cfd, 0, [[0, 10]]), 'EFAULT');
    eq(devSend(s.a, s.cfd, null, [[0, 10]]), 'EFAULT', 'iovecs without a cmsg');
  });
});

describe('§7.7 route rebuild failed → EHOSTUNREACH', () => {
  it('the cached route expired and no route is left to the peer', async () => {
    const p = makePair();
    // the peer sits behind a static on-link route (deleteRoute removes static routes only)
    p.a.ip.addAddress('eth0', 'fd00::1/64', { nodad: true });
    p.b.ip.addAddress('eth0', 'fd01::2/64', { nodad: true });
    p.a.ip.addRoute({ dst: 'fd01::/64', dev: 'eth0' });
    p.b.ip.addRoute({ dst: 'fd00::/64', dev: 'eth0' });
    const dmabuf = p.a.allocDeviceMemory(16 * 4096);
    const nl = p.a.netlink();
    const { id } = await nl.netdev.bindTx({ ifindex: p.ea.ifindex, fd: dmabuf.fd });
    const lfd = tcpFd(p.b, C.AF_INET6);
    eq(p.b.sys.bind(lfd, { family: C.AF_INET6, addr: InetAddr.parse('::'), port: 5000, flowinfo: 0, scopeId: 0 }), 0);
    eq(p.b.sys.listen(lfd, 4), 0);
    const cfd = tcpFd(p.a, C.AF_INET6);
    eq(p.a.sys.setsockopt(cfd, SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    eq(p.a.sys.connect(cfd, { family: C.AF_INET6, addr: InetAddr.parse('fd01::2'), port: 5000, flowinfo: 0, scopeId: 0 }), 'EINPROGRESS');
    run(p);
    eq(devSend(p.a, cfd, id, [[0, 10]]), 10, 'works while routed');
    const f = p.a.sys.sock(cfd);
    assert.ok(f instanceof TcpSockFile);
    const tcb = f.tp;
    // the dst goes away (sk_dst_reset) and so does the only route to the peer
    tcb.routeDev = null;
    assert.ok(p.a.kernel.ipv6.deleteRoute(InetAddr.parse('fd01::'), 64));
    eq(devSend(p.a, cfd, id, [[0, 10]]), 'EHOSTUNREACH');
    assert.equal(tcb.routeDev, null);
    // a rebuild that finds a route again succeeds and caches it
    p.a.ip.addRoute({ dst: 'fd01::/64', dev: 'eth0' });
    eq(devSend(p.a, cfd, id, [[0, 10]]), 10);
    assert.equal(tcb.routeDev, p.ea);
  });
});

describe('§7.7 no route / route via another device / binding device gone → ENODEV', () => {
  it('an unconnected socket has no route to the binding device (ENODEV before the connection wait)', async () => {
    const p = makePair();
    const dmabuf = p.a.allocDeviceMemory(16 * 4096);
    const { id } = await p.a.netlink().netdev.bindTx({ ifindex: p.ea.ifindex, fd: dmabuf.fd });
    const fd = tcpFd(p.a);
    eq(p.a.sys.setsockopt(fd, SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
    eq(devSend(p.a, fd, id, [[0, 10]]), 'ENODEV');
  });

  it('the route leaves through another device than the binding\'s', async () => {
    const s = await txSetup();
    const eth1 = s.a.addDevice('eth1', { rxQueues: 1 });
    const other = s.a.allocDeviceMemory(16 * 4096);
    const { id } = await s.nl.netdev.bindTx({ ifindex: eth1.ifindex, fd: other.fd });
    const refs = s.a.kernel.bindings.lookup(id)!.refCount;
    eq(devSend(s.a, s.cfd, id, [[0, 10]]), 'ENODEV');
    assert.equal(s.a.kernel.bindings.lookup(id)!.refCount, refs);
    eq(devSend(s.a, s.cfd, s.id, [[0, 10]]), 10, 'the eth0 binding works');
  });

  it('the binding\'s device went away', async () => {
    const s = await txSetup();
    s.a.kernel.bindings.deviceGone(s.ea);
    eq(devSend(s.a, s.cfd, s.id, [[0, 10]]), 'ENODEV');
  });
});

describe('§7.7 offset at or past the end of the dma-buf → EFAULT (or a short count)', () => {
  it('iov_base = size and beyond: EFAULT, nothing queued', async () => {
    const s = await txSetup({ dmabufSize: 16 * 4096 });
    const size = 16 * 4096;
    eq(devSend(s.a, s.cfd, s.id, [[size, 1]]), 'EFAULT');
    eq(devSend(s.a, s.cfd, s.id, [[size + 4096, 100]]), 'EFAULT');
    eq(devSend(s.a, s.cfd, s.id, [[2 ** 52, 100]]), 'EFAULT');
    assert.equal(unacked(s), 0);
  });

  it('a range that runs past the end inside the skb being filled: the skb is trimmed back (skb_zerocopy_iter_stream), EFAULT', async () => {
    const s = await txSetup({ dmabufSize: 16 * 4096 });
    const size = 16 * 4096;
    const refs = bindingRefs(s);
    eq(devSend(s.a, s.cfd, s.id, [[size - 10, 30]]), 'EFAULT');
    eq(devSend(s.a, s.cfd, s.id, [[0, 5], [size, 5]]), 'EFAULT', 'second iovec out of range');
    assert.equal(unacked(s), 0, 'nothing queued');
    assert.equal(bindingRefs(s), refs, 'every net_iov reference of the trimmed frags dropped');
    const f = s.a.sys.sock(s.cfd);
    assert.ok(f instanceof TcpSockFile);
    assert.equal(f.zc.zckey, 0, 'the ids were given back');
    assert.equal(f.tp.sendBuf.count, 0, 'the emptied record is gone');
  });

  it('a fault after completed skbs: their bytes are a short count, the skb being filled is trimmed', async () => {
    const s = await txSetup({ dmabufSize: 64 * 4096 });
    const size = 64 * 4096;
    // 17 one-byte pieces in distinct pages fill an skb's frag slots (EMSGSIZE: committed), the
    // 18th piece starts a new skb and faults at once
    const pairs: [number, number][] = [];
    for (let i = 0; i < 17; i++) pairs.push([i * 4096 + 7, 1]);
    eq(devSend(s.a, s.cfd, s.id, [...pairs, [size, 1]]), 17);
    // …and a fault in the middle of a later skb keeps only the skbs before it
    const r = devSend(s.a, s.cfd, s.id, [[size - 120_000, 200_000]]);
    assert.ok(r > 0 && r < 120_000, `short count ${r}`);
    run(s);
    assert.equal(s.b.sys.ioctl(s.sfd, C.FIONREAD), 17 + r, 'the receiver got exactly the bytes reported');
  });
});

describe('§7.7 zerocopy uarg allocation failed → ENOBUFS', () => {
  it('optmem exhausted: ENOBUFS, before the binding lookup; nothing queued, the id not used', async () => {
    const s = await txSetup();
    const f = s.a.sys.sock(s.cfd);
    assert.ok(f instanceof TcpSockFile);
    const q = f.zc.errq;
    const keep = q.optmemMax;
    q.optmemMax = q.omem;
    const key = f.zc.zckey;
    eq(devSend(s.a, s.cfd, s.id, [[0, 100]]), 'ENOBUFS');
    // the completion comes first: an unknown id fails the same way
    eq(devSend(s.a, s.cfd, 0x7777, [[0, 100]]), 'ENOBUFS');
    assert.equal(f.zc.zckey, key);
    assert.equal(unacked(s), 0);
    q.optmemMax = keep;
    eq(devSend(s.a, s.cfd, s.id, [[0, 100]]), 100);
    assert.equal(f.zc.zckey, key + 1);
  });
});

describe('§7.7 iovec limits (import_iovec)', () => {
  it('more than UIO_MAXIOV (1024) iovecs → EMSGSIZE; 1024 are fine', async () => {
    const s = await txSetup();
    const many = new Float64Array(1025 * 2);
    for (let i = 0; i < 1025; i++) {
      many[2 * i] = i * 3;
      many[2 * i + 1] = 3;
    }
    eq(devSend(s.a, s.cfd, s.id, many), 'EMSGSIZE');
    eq(devSend(s.a, s.cfd, s.id, many.subarray(0, 2048)), 3072);
  });

  it('a control buffer larger than optmem_max → ENOBUFS', async () => {
    const s = await txSetup();
    const big = new Uint8Array(131072 + 8);
    big.set(encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: u32(s.id) }]));
    eq(devSend(s.a, s.cfd, big, [[0, 10]]), 'ENOBUFS');
  });

  it('a negative iov_len → EINVAL', async () => {
    const s = await txSetup();
    eq(devSend(s.a, s.cfd, s.id, iovs([0, -1])), 'EINVAL');
  });
});

describe('§7.7 bind-tx on a device without netmem_tx → EOPNOTSUPP', () => {
  it('netlink refuses with the extack message', async () => {
    const p = makePair();
    const nt = p.a.addDevice('eth9', { rxQueues: 1, netmemTx: false });
    const dmabuf = p.a.allocDeviceMemory(4096);
    await assert.rejects(p.a.netlink().netdev.bindTx({ ifindex: nt.ifindex, fd: dmabuf.fd }), (e: { code: string; extack?: { msg?: string } }) => {
      assert.equal(e.code, 'EOPNOTSUPP');
      assert.equal(e.extack?.msg, 'Driver does not support netmem TX');
      return true;
    });
  });
});

