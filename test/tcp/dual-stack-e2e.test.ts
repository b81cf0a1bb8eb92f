/**
 * Dual-stack and SO_REUSEPORT through the socket API and the real IPv4 stack: an AF_INET6 `::`
 * listener accepts IPv4 clients as v4-mapped peers unless IPV6_V6ONLY; a reuseport group spreads
 * connections.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError } from '../../src/index.js';
import { InetAddr } from '../../src/inet/index.js';
import { TCP_ESTABLISHED } from '../../src/tcp/index.js';
import { makePair } from '../e2e/helpers.js';

describe('dual-stack TCP through the socket API', () => {
  it('an AF_INET6 :: listener accepts an IPv4 client (::ffff:10.0.0.1) and carries its data', async () => {
    const p = makePair();
    const ls = p.b.socket(C.AF_INET6, C.SOCK_STREAM);
    ls.bind('::', 7000);
    ls.listen(4);
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    const acc = ls.accept();
    await cs.connect('10.0.0.2', 7000);
    const conn = await acc;
    const peer = conn.getpeername();
    assert.equal(peer.family, C.AF_INET6);
    assert.equal(peer.addr.toString(), '10.0.0.1', 'v4-mapped ::ffff:10.0.0.1');
    assert.equal(peer.addr.family, 4);
    assert.equal(peer.port, cs.getsockname().port);
    assert.equal(conn.getsockname().addr.toString(), '10.0.0.2');
    const msg = new TextEncoder().encode('hello over v4-mapped');
    await cs.send(msg);
    const got = await conn.recv(100);
    assert.deepEqual([...got], [...msg]);
    assert.equal(conn.tcb.sockFamily, 6);
    assert.equal(conn.tcb.raddr.family, 4);
    p.net.close();
  });

  it('with IPV6_V6ONLY the :: listener refuses IPv4 (RST → ECONNREFUSED)', async () => {
    const p = makePair();
    const ls = p.b.socket(C.AF_INET6, C.SOCK_STREAM);
    ls.setsockopt(C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
    ls.bind('::', 7001);
    ls.listen(4);
    // and 0.0.0.0 can share the port with a v6only ::
    const l4 = p.b.socket(C.AF_INET, C.SOCK_STREAM);
    l4.bind('0.0.0.0', 7002);
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    await assert.rejects(cs.connect('10.0.0.2', 7001), (e: unknown) => e instanceof ErrnoError && e.code === 'ECONNREFUSED');
    const both = p.b.socket(C.AF_INET, C.SOCK_STREAM);
    both.bind('0.0.0.0', 7001);
    p.net.close();
  });

  it('SO_REUSEPORT listeners share a port and each gets connections', async () => {
    const p = makePair();
    const ls = [0, 1, 2, 3].map(() => {
      const l = p.b.socket(C.AF_INET, C.SOCK_STREAM);
      l.setsockopt(C.SOL_SOCKET, C.SO_REUSEPORT, 1);
      l.bind('0.0.0.0', 7100);
      l.listen(64);
      return l;
    });
    const clients = [];
    for (let i = 0; i < 32; i++) {
      const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
      await cs.connect('10.0.0.2', 7100);
      clients.push(cs);
    }
    const counts = ls.map((l) => l.tcb.acceptQueue.length);
    assert.equal(counts.reduce((x, y) => x + y), 32);
    for (const c of counts) assert.ok(c >= 3, `spread ${counts.join(',')}`);
    // without the option a fifth may not bind
    assert.throws(() => p.b.socket(C.AF_INET, C.SOCK_STREAM).bind('0.0.0.0', 7100), (e: unknown) => e instanceof ErrnoError && e.code === 'EADDRINUSE');
    p.net.close();
  });

  it('IPv6 link-local peers need the scope id; ::1 and 127.0.0.1 work within a host', async () => {
    const p = makePair();
    await p.net.sleep(3_000_000); // link-local addresses finish DAD
    const ll = p.b.ip.addresses().find((x) => x.dev === 'eth0' && x.family === 6 && String(x.address).startsWith('fe80'));
    assert.ok(ll !== undefined);
    const ls = p.b.kernel.tcp.socket(6);
    assert.equal(p.b.kernel.tcp.userBind(ls, InetAddr.ANY6, 80), 0);
    assert.equal(p.b.kernel.tcp.userListen(ls, 4), 0);
    const tp = p.a.kernel.tcp.socket(6);
    assert.equal(p.a.kernel.tcp.userConnect(tp, InetAddr.parse(String(ll.address)), 80, p.ea.ifindex), 0);
    await p.net.sleep(1_000_000);
    assert.equal(tp.state, TCP_ESTABLISHED);
    assert.ok(tp.laddr.toString().startsWith('fe80:'));
    assert.equal(ls.acceptQueue.length, 1);
    // loopback, both families, to a dual-stack listener on the same host
    for (const dst of ['::1', '127.0.0.1']) {
      const c = p.b.kernel.tcp.socket(6);
      assert.equal(p.b.kernel.tcp.userConnect(c, InetAddr.parse(dst), 80), 0);
      await p.net.sleep(100_000);
      assert.equal(c.state, TCP_ESTABLISHED, dst);
      assert.equal(c.laddr.toString(), dst);
    }
    assert.equal(ls.acceptQueue.length, 3);
    p.net.close();
  });
});
