/**
 * UDP end to end between two simulated hosts: fragmentation at MTU 1500, ICMP port unreachable,
 * checksum corruption on the wire, and a lossy / reordering / duplicating / corrupting wire on
 * which every delivered datagram must be byte-exact (UDP may lose datagrams, never alter them).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Network, constants as C, type Host, type SimWireOptions } from '../../src/index.js';
import { InetAddr, addrToString } from '../../src/inet/index.js';
import type { RemoteInfo } from '../../src/index.js';
import { ERRNO } from '../../src/uapi/index.js';
import { UDP_MAX_PAYLOAD_V4, UDP_MAX_PAYLOAD_V6, UdpRecvInfo, type UdpSock } from '../../src/udp/index.js';

interface Pair {
  net: Network;
  a: Host;
  b: Host;
}

function makePair(wire: SimWireOptions = {}, seed = 1, staticNeigh = false): Pair {
  const net = new Network({ seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { mtu: 1500 });
  const eb = b.addDevice('eth0', { mtu: 1500 });
  net.connect(ea, eb, { gbps: 10, delayUs: 5, ...wire });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  if (staticNeigh) {
    // every frame is corrupted: ARP could never resolve
    a.ip.addNeighbour('eth0', '10.0.0.2', eb.mac);
    b.ip.addNeighbour('eth0', '10.0.0.1', ea.mac);
  }
  a.ip.addAddress('eth0', '2001:db8::1/64');
  b.ip.addAddress('eth0', '2001:db8::2/64');
  net.runFor(3_000_000); // duplicate address detection: the addresses are tentative until it ends
  return { net, a, b };
}

/** deterministic content for datagram `seq` of `len` bytes (first 4 bytes: seq, next 4: len) */
function payload(seq: number, len: number): Uint8Array {
  const d = new Uint8Array(len);
  let x = (seq * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    d[i] = x & 0xff;
  }
  const dv = new DataView(d.buffer);
  if (len >= 8) {
    dv.setUint32(0, seq);
    dv.setUint32(4, len);
  }
  return d;
}

const rbuf = new Uint8Array(70000);
const info = new UdpRecvInfo();

function drain(h: Host, us: UdpSock, out: { data: Uint8Array; from: string; port: number }[]): void {
  for (;;) {
    const r = h.kernel.udp.userRecvmsg(us, rbuf, 0, rbuf.length, 0, info);
    if (r < 0) return;
    out.push({ data: rbuf.slice(0, r), from: addrToString(info.addr), port: info.port });
  }
}

const SIZES = [0, 1, 100, 1472, 1473, 3000, 8972, 20000, 40000, UDP_MAX_PAYLOAD_V4];

describe('UDP end to end over the simulated wire', () => {
  it('IPv4: datagrams up to 65 507 bytes, fragmented at MTU 1500, arrive byte-exact', () => {
    const { net, a, b } = makePair();
    const rx = b.kernel.udp.socket(4);
    assert.equal(b.kernel.udp.userBind(rx, InetAddr.ANY4, 5000), 0);
    b.kernel.udp.setRcvbuf(rx, 1 << 20);
    const tx = a.kernel.udp.socket(4);
    const got: { data: Uint8Array; from: string; port: number }[] = [];
    for (const n of SIZES) {
      assert.equal(a.kernel.udp.userSendmsg(tx, payload(n, n), 0, n, InetAddr.parse('10.0.0.2'), 5000, 0), n);
      net.runUntilIdle();
      drain(b, rx, got);
    }
    assert.equal(got.length, SIZES.length);
    got.forEach((g, i) => {
      assert.equal(g.data.length, SIZES[i]);
      assert.ok(Buffer.from(g.data).equals(Buffer.from(payload(SIZES[i]!, SIZES[i]!))), `datagram of ${SIZES[i]} bytes`);
      assert.equal(g.from, '10.0.0.1');
      assert.equal(g.port, tx.lport);
    });
    assert.equal(a.kernel.udp.userSendmsg(tx, payload(1, 65508), 0, 65508, InetAddr.parse('10.0.0.2'), 5000, 0), -ERRNO.EMSGSIZE);
    assert.equal(a.kernel.udp.mib.outDatagrams, SIZES.length);
    assert.equal(b.kernel.udp.mib.inDatagrams, SIZES.length);
    assert.equal(b.kernel.udp.mib.inErrors, 0);
    a.kernel.udp.userClose(tx);
    b.kernel.udp.userClose(rx);
    net.runUntilIdle();
    assert.equal(a.kernel.skbs.live, 0, 'every skb returned');
    assert.equal(b.kernel.skbs.live, 0, 'every skb returned');
    net.close();
  });

  it('IPv6: datagrams up to 65 527 bytes arrive byte-exact; a dual-stack socket hears both', () => {
    const { net, a, b } = makePair();
    const rx = b.kernel.udp.socket(6);
    assert.equal(b.kernel.udp.userBind(rx, InetAddr.ANY6, 5000), 0);
    b.kernel.udp.setRcvbuf(rx, 1 << 20);
    const tx = a.kernel.udp.socket(6);
    const sizes = [...SIZES.slice(0, -1), UDP_MAX_PAYLOAD_V6];
    const got: { data: Uint8Array; from: string; port: number }[] = [];
    for (const n of sizes) {
      assert.equal(a.kernel.udp.userSendmsg(tx, payload(n, n), 0, n, InetAddr.parse('2001:db8::2'), 5000, 0), n);
      net.runUntilIdle();
      drain(b, rx, got);
    }
    assert.equal(got.length, sizes.length);
    got.forEach((g, i) => {
      assert.ok(Buffer.from(g.data).equals(Buffer.from(payload(sizes[i]!, sizes[i]!))), `datagram of ${sizes[i]} bytes`);
      assert.equal(g.from, '2001:db8::1');
    });
    assert.equal(a.kernel.udp.userSendmsg(tx, payload(1, 65528), 0, 65528, InetAddr.parse('2001:db8::2'), 5000, 0), -ERRNO.EMSGSIZE);
    const tx4 = a.kernel.udp.socket(4);
    a.kernel.udp.userSendmsg(tx4, payload(7, 3000), 0, 3000, InetAddr.parse('10.0.0.2'), 5000, 0);
    net.runUntilIdle();
    got.length = 0;
    drain(b, rx, got);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.from, '10.0.0.1', 'v4-mapped source');
    net.close();
  });

  it('connected socket: ICMP port unreachable from the peer → ECONNREFUSED on the next call', () => {
    const { net, a, b } = makePair();
    const c = a.kernel.udp.socket(4);
    assert.equal(a.kernel.udp.userConnect(c, InetAddr.parse('10.0.0.2'), 9), 0);
    assert.equal(a.kernel.udp.userSendmsg(c, payload(1, 10), 0, 10, null, 0, 0), 10);
    net.runUntilIdle();
    assert.equal(b.kernel.udp.mib.noPorts, 1);
    assert.equal(c.err, ERRNO.ECONNREFUSED);
    assert.equal(a.kernel.udp.userSendmsg(c, payload(1, 10), 0, 10, null, 0, 0), -ERRNO.ECONNREFUSED);
    assert.equal(a.kernel.udp.userSendmsg(c, payload(1, 10), 0, 10, null, 0, 0), 10);
    // an unconnected socket ignores it
    const u = a.kernel.udp.socket(4);
    a.kernel.udp.userSendmsg(u, payload(1, 10), 0, 10, InetAddr.parse('10.0.0.2'), 9, 0);
    net.runUntilIdle();
    assert.equal(b.kernel.udp.mib.noPorts, 3);
    assert.equal(u.err, 0);
    net.close();
  });

  it('a flood to a closed port: each datagram counted in NoPorts, the ICMP answers rate-limited, then quiet', () => {
    const { net, a, b } = makePair();
    const u = a.kernel.udp.socket(4);
    a.kernel.udp.userSendmsg(u, payload(0, 10), 0, 10, InetAddr.parse('10.0.0.2'), 9, 0);
    net.runUntilIdle(); // neighbours resolved
    for (let i = 0; i < 300; i++) a.kernel.udp.userSendmsg(u, payload(i, 10), 0, 10, InetAddr.parse('10.0.0.2'), 9, 0);
    net.runUntilIdle();
    assert.equal(b.kernel.udp.mib.noPorts, 301);
    const icmp = b.kernel.ipv4.stats.icmp.outDestUnreachs;
    assert.ok(icmp >= 1 && icmp < 100, `ICMP port unreachable rate-limited: ${icmp}`);
    assert.equal(u.err, 0, 'unconnected: ignored');
    assert.equal(net.runUntilIdle(), 0, 'nothing left to do');
    assert.equal(b.kernel.skbs.live, 0);
    net.close();
  });

  it('SO_DEVMEM_DONTNEED on a UDP socket: EBADF (Linux)', () => {
    const { net, a } = makePair();
    const fd = a.sys.socket(C.AF_INET, C.SOCK_DGRAM, 0);
    assert.ok(fd >= 0);
    assert.equal(a.sys.setsockopt(fd, C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, new Uint8Array(8)), -ERRNO.EBADF);
    assert.equal(a.sys.close(fd), 0);
    net.close();
  });

  it('a neighbour that never answers is a soft error: a connected UDP socket ignores it (Linux)', () => {
    const { net, a } = makePair();
    const c = a.kernel.udp.socket(4);
    assert.equal(a.kernel.udp.userConnect(c, InetAddr.parse('10.0.0.99'), 53), 0);
    assert.equal(a.kernel.udp.userSendmsg(c, payload(1, 10), 0, 10, null, 0, 0), 10);
    net.runUntilIdle();
    assert.equal(c.err, 0, 'ICMP_HOST_UNREACH is not fatal (icmp_err_convert), so no sk_err without IP_RECVERR');
    assert.equal(a.kernel.udp.userSendmsg(c, payload(1, 10), 0, 10, null, 0, 0), 10);
    a.kernel.udp.userClose(c);
    net.runUntilIdle();
    assert.equal(a.kernel.skbs.live, 0);
    net.close();
  });

  it('a datagram steered to a device-memory queue is unreadable: recvmsg fails with EFAULT and drops it (Linux)', async () => {
    const net = new Network({ seed: 3 });
    const a = net.addHost('a');
    const b = net.addHost('b');
    const ea = a.addDevice('eth0', { mtu: 1500, rxQueues: 4 });
    const eb = b.addDevice('eth0', { mtu: 1500, rxQueues: 4 });
    net.connect(ea, eb, { gbps: 10, delayUs: 5 });
    a.ip.addAddress('eth0', '10.0.0.1/24');
    b.ip.addAddress('eth0', '10.0.0.2/24');
    b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    b.ethtool.setRss('eth0', { equal: 3 });
    b.ethtool.addNtupleRule('eth0', { flowType: 'udp4', dstPort: 5000, action: 3 });
    const dmabuf = b.allocDeviceMemory(1 << 20);
    const nl = b.netlink();
    await nl.netdev.bindRx({ ifindex: eb.ifindex, fd: dmabuf.fd, queues: [{ id: 3, type: 'rx' }] });
    const rx = b.kernel.udp.socket(4);
    b.kernel.udp.userBind(rx, InetAddr.ANY4, 5000);
    const tx = a.kernel.udp.socket(4);
    a.kernel.udp.userSendmsg(tx, payload(1, 1000), 0, 1000, InetAddr.parse('10.0.0.2'), 5000, 0);
    await net.idle();
    net.runUntilIdle();
    assert.equal(rx.rxq.count, 1);
    assert.equal(rx.rxq.peek()!.unreadable, true);
    assert.equal(b.kernel.udp.userRecvmsg(rx, rbuf, 0, rbuf.length, 0, info), -ERRNO.EFAULT);
    assert.equal(rx.rxq.count, 0, 'dropped, as udp_recvmsg does');
    assert.equal(b.kernel.udp.mib.inErrors, 1);
    assert.equal(rx.stats.drops, 1);
    assert.equal(b.kernel.skbs.live, 0);
    nl.close();
    net.close();
  });

  it('checksum: payload bits flipped on the wire are caught, counted, and never delivered', () => {
    const { net, a, b } = makePair({ corrupt: 1, corruptMode: 'payload' }, 1, true);
    const rx = b.kernel.udp.socket(4);
    b.kernel.udp.userBind(rx, InetAddr.ANY4, 5000);
    const tx = a.kernel.udp.socket(4);
    const N = 40;
    for (let i = 0; i < N; i++) a.kernel.udp.userSendmsg(tx, payload(i, 1000), 0, 1000, InetAddr.parse('10.0.0.2'), 5000, 0);
    net.runUntilIdle();
    const got: { data: Uint8Array; from: string; port: number }[] = [];
    drain(b, rx, got);
    assert.equal(got.length, 0);
    // a flip in the IPv4 header is IP's to catch; everything else (UDP header and payload) is UDP's
    const ip = b.kernel.ipv4.stats;
    assert.equal(ip.inReceives, N);
    assert.equal(b.kernel.udp.mib.inErrors, ip.inDelivers, 'every datagram IP passed up was caught by UDP');
    assert.ok(b.kernel.udp.mib.inCsumErrors >= N / 2, `inCsumErrors ${b.kernel.udp.mib.inCsumErrors}`);
    assert.equal(b.kernel.udp.mib.inDatagrams, 0);
    net.close();
  });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: 5% loss, reordering, duplication and corruption: every delivered datagram byte-exact, none invented`, () => {
      const { net, a, b } = makePair({ loss: 0.05, reorder: 0.05, duplicate: 0.05, corrupt: 0.05, corruptMode: 'payload' }, 7);
      const dst = InetAddr.parse(family === 4 ? '10.0.0.2' : '2001:db8::2');
      const max = family === 4 ? UDP_MAX_PAYLOAD_V4 : UDP_MAX_PAYLOAD_V6;
      const rx = b.kernel.udp.socket(family);
      b.kernel.udp.userBind(rx, family === 4 ? InetAddr.ANY4 : InetAddr.ANY6, 5000);
      b.kernel.udp.setRcvbuf(rx, 1 << 20);
      const tx = a.kernel.udp.socket(family);
      const sent = new Map<number, number>();
      const got: { data: Uint8Array; from: string; port: number }[] = [];
      let seq = 0;
      for (let round = 0; round < 60; round++) {
        for (let k = 0; k < 5; k++) {
          const n = [8, 200, 1452, 1473, 4000, 9000, 30000, max][(seq * 7 + k) % 8]!;
          sent.set(seq, n);
          assert.equal(a.kernel.udp.userSendmsg(tx, payload(seq, n), 0, n, dst, 5000, 0), n);
          seq++;
        }
        net.runUntilIdle();
        drain(b, rx, got);
      }
      const seen = new Set<number>();
      let small = 0;
      for (const g of got) {
        assert.ok(g.data.length >= 8);
        const dv = new DataView(g.data.buffer, g.data.byteOffset);
        const s = dv.getUint32(0);
        const n = sent.get(s);
        assert.ok(n !== undefined, `datagram ${s} was never sent`);
        assert.equal(g.data.length, n);
        assert.ok(Buffer.from(g.data).equals(Buffer.from(payload(s, n))), `datagram ${s} (${n} bytes) altered`);
        if (n <= 1452) small++;
        seen.add(s);
      }
      const smallSent = [...sent.values()].filter((n) => n <= 1452).length;
      assert.ok(small >= smallSent * 0.75, `most single-frame datagrams arrive: ${small}/${smallSent}`);
      assert.ok(seen.size < sent.size, 'some were lost (the wire is lossy)');
      assert.ok([...seen].some((s) => sent.get(s)! > 4000), 'some fragmented datagrams made it through');
      assert.ok(b.kernel.udp.mib.inCsumErrors > 0, 'flipped payload bits were caught by the UDP checksum');
      assert.ok(got.length >= seen.size, 'duplicates may arrive, each one intact');
      a.kernel.udp.userClose(tx);
      b.kernel.udp.userClose(rx);
      net.runUntilIdle(5_000_000); // reassembly timers run out
      net.close();
    });
  }

  it('host.dgram sockets: message events in virtual time, echo back', async () => {
    const { net, a, b } = makePair();
    const srv = b.dgram.createSocket('udp4');
    srv.bind(41234);
    const got = new Promise<[Buffer, RemoteInfo]>((resolve) => srv.once('message', (m: Buffer, r: RemoteInfo) => resolve([m, r])));
    const cli = a.dgram.createSocket('udp4');
    cli.send(Buffer.from(payload(3, 5000)), 41234, '10.0.0.2');
    const [m, r] = await got;
    assert.ok(m.equals(Buffer.from(payload(3, 5000))));
    assert.equal(r.address, '10.0.0.1');
    assert.equal(r.size, 5000);
    // echo back through the connected form
    const back = new Promise<Buffer>((resolve) => cli.once('message', (x: Buffer) => resolve(x)));
    srv.send(m, r.port, r.address);
    assert.ok((await back).equals(m));
    srv.close();
    cli.close();
    net.close();
  });

  it('host.dgram: a host shutdown fails the socket (error, then close) and frees its fd', async () => {
    const { net, a } = makePair();
    const s = a.dgram.createSocket('udp4');
    s.bind(5353);
    await new Promise((resolve) => s.once('listening', resolve));
    const fds = a.kernel.files.size;
    const events: string[] = [];
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    s.on('error', (e: Error) => events.push(`error ${(e as { code?: string }).code}`));
    a.shutdown(ERRNO.ENETDOWN);
    await closed;
    assert.deepEqual(events, ['error ENETDOWN']);
    assert.ok(a.kernel.files.size < fds);
    assert.throws(() => s.send('x', 1, '10.0.0.2'), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    net.close();
  });
});
