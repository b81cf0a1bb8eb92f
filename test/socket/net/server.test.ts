/**
 * `host.net.createServer` / `Server` as Node's test-net-server-* and test-net-listen-* check it:
 * every `listen()` form (ephemeral ports, host, backlog, callback, options with ipv6Only and
 * exclusive), the dual-stack default address '::', 'listening' on the next tick, EADDRINUSE
 * emitted (not thrown), ERR_SERVER_ALREADY_LISTEN, `address()`, `close([cb])` with
 * ERR_SERVER_NOT_RUNNING and 'close' only once every connection closed, `getConnections`,
 * `maxConnections` ('drop'), `pauseOnConnect`, `allowHalfOpen`, server noDelay / keepAlive, and
 * `ref` / `unref`.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants as C, type ErrnoError, type NetServer, type NetSocket } from '../../../src/index.js';
import { closed, closePairs, collect, makeNetPair, record } from './helpers.js';

afterEach(closePairs);

async function listening(srv: NetServer): Promise<number> {
  await once(srv, 'listening');
  return srv.address()!.port;
}

describe('listen forms', () => {
  it('listen(), listen(cb), listen(null), listen({ port: undefined }): ephemeral ports on ::', async () => {
    const p = makeNetPair();
    const ports = new Set<number>();
    const a = p.b.net.createServer();
    assert.equal(a.listen(), a);
    ports.add(await listening(a));
    let cbCalled = false;
    const b = p.b.net.createServer().listen(() => { cbCalled = true; });
    ports.add(await listening(b));
    assert.ok(cbCalled);
    const c = p.b.net.createServer().listen(null);
    ports.add(await listening(c));
    const d = p.b.net.createServer().listen({ port: undefined });
    ports.add(await listening(d));
    assert.equal(ports.size, 4);
    for (const port of ports) assert.ok(port >= 32768 && port <= 60999, `ephemeral ${port}`);
    assert.deepEqual({ ...a.address()!, port: 0 }, { address: '::', family: 'IPv6', port: 0 });
    await p.net.close();
  });

  it('listen(port, host, backlog, cb), listen(port, backlog, cb), listen(options, cb)', async () => {
    const p = makeNetPair();
    const calls: string[] = [];
    const s1 = p.b.net.createServer().listen(8001, '10.0.0.2', 5, () => calls.push('s1'));
    const s2 = p.b.net.createServer().listen(8002, 5, () => calls.push('s2'));
    const s3 = p.b.net.createServer().listen({ port: 8003, host: '10.0.0.2', backlog: 1 }, () => calls.push('s3'));
    const s4 = p.b.net.createServer().listen('8004', () => calls.push('s4'));
    assert.equal(s1.listening, false, "a host is looked up first: 'listening' comes later");
    assert.equal(s2.listening, true);
    await Promise.all([s1, s2, s3, s4].map((s) => once(s, 'listening')));
    assert.deepEqual(calls.sort(), ['s1', 's2', 's3', 's4']);
    assert.deepEqual(s1.address(), { address: '10.0.0.2', family: 'IPv4', port: 8001 });
    assert.deepEqual(s2.address(), { address: '::', family: 'IPv6', port: 8002 });
    assert.deepEqual(s3.address(), { address: '10.0.0.2', family: 'IPv4', port: 8003 });
    assert.equal(s4.address()!.port, 8004);
    // every one of them accepts
    for (const port of [8001, 8002, 8003, 8004]) {
      const c = p.a.net.connect(port, '10.0.0.2');
      await once(c, 'connect');
      c.destroy();
    }
    await p.net.close();
  });

  it('the dual-stack default: an IPv4 client appears as ::ffff:a.b.c.d; ipv6Only refuses it', async () => {
    const p = makeNetPair();
    let remote: string | undefined;
    const srv = p.b.net.createServer((s) => {
      remote = `${s.remoteAddress} ${s.remoteFamily} ${s.localAddress}`;
      s.end();
    });
    srv.listen(8100);
    await once(srv, 'listening');
    const c = p.a.net.connect(8100, '10.0.0.2');
    c.resume();
    await closed(c);
    assert.equal(remote, '::ffff:10.0.0.1 IPv6 ::ffff:10.0.0.2');
    const v6 = p.b.net.createServer().listen({ port: 8101, ipv6Only: true });
    await once(v6, 'listening');
    const c4 = p.a.net.connect(8101, '10.0.0.2');
    const [err] = (await once(c4, 'error')) as [ErrnoError];
    assert.equal(err.code, 'ECONNREFUSED');
    const c6 = p.a.net.connect(8101, 'fd00::2');
    await once(c6, 'connect');
    c6.destroy();
    await p.net.close();
  });

  it('argument errors throw; a second listen throws ERR_SERVER_ALREADY_LISTEN', async () => {
    const p = makeNetPair();
    const srv = p.b.net.createServer();
    const code = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return (e as { code: string }).code;
      }
      return 'none';
    };
    assert.equal(code(() => srv.listen(65536)), 'ERR_SOCKET_BAD_PORT');
    assert.equal(code(() => srv.listen({ port: -1 })), 'ERR_SOCKET_BAD_PORT');
    assert.equal(code(() => srv.listen({ host: '10.0.0.2' } as never)), 'ERR_INVALID_ARG_VALUE');
    assert.equal(code(() => srv.listen({ path: '/tmp/x.sock' })), 'ERR_INVALID_ARG_VALUE');
    srv.listen(0);
    assert.equal(code(() => srv.listen(0)), 'ERR_SERVER_ALREADY_LISTEN');
    assert.throws(() => p.b.net.createServer(42 as never), { code: 'ERR_INVALID_ARG_TYPE' });
    await p.net.close();
  });

  it('a used port: EADDRINUSE is emitted on the next tick, not thrown; the server is not listening', async () => {
    const p = makeNetPair();
    const s1 = p.b.net.createServer().listen(8200);
    await once(s1, 'listening');
    const s2 = p.b.net.createServer();
    const log = record(s2, ['listening', 'error']);
    s2.listen(8200);
    assert.deepEqual(log, [], 'nothing synchronously');
    const [err] = (await once(s2, 'error')) as [ErrnoError & { address: string; port: number }];
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.syscall, 'listen');
    assert.equal(err.message, 'listen EADDRINUSE: address already in use :::8200');
    assert.equal(err.address, '::');
    assert.equal(err.port, 8200);
    assert.equal(s2.listening, false);
    assert.equal(s2.address(), null);
    // the same on a specific address, and after the first closes the port is free again
    const s3 = p.b.net.createServer().listen(8200, '10.0.0.2');
    const [e3] = (await once(s3, 'error')) as [ErrnoError];
    assert.equal(e3.message, 'listen EADDRINUSE: address already in use 10.0.0.2:8200');
    s1.close();
    await once(s1, 'close');
    const s4 = p.b.net.createServer().listen(8200);
    await once(s4, 'listening');
    await p.net.close();
  });

  it('a host name that is not a literal: ENOTFOUND emitted', async () => {
    const p = makeNetPair();
    const s = p.b.net.createServer().listen(8300, 'nowhere.invalid');
    const [err] = (await once(s, 'error')) as [ErrnoError];
    assert.equal(err.code, 'ENOTFOUND');
    assert.equal(s.listening, false);
    await p.net.close();
  });
});

describe('close and connection accounting', () => {
  it('close(cb) when not listening: cb gets ERR_SERVER_NOT_RUNNING; close is idempotent', async () => {
    const p = makeNetPair();
    const srv = p.b.net.createServer();
    const err = (await new Promise<Error | undefined>((resolve) => srv.close((e) => resolve(e)))) as Error & { code: string };
    assert.equal(err.code, 'ERR_SERVER_NOT_RUNNING');
    assert.equal(err.message, 'Server is not running.');
    await p.net.close();
  });

  it("'close' waits for every connection; getConnections counts them", async () => {
    const p = makeNetPair();
    const conns: NetSocket[] = [];
    const srv = p.b.net.createServer((s) => {
      conns.push(s);
      s.resume();
    });
    srv.listen(8400);
    await once(srv, 'listening');
    const c1 = p.a.net.connect(8400, '10.0.0.2');
    const c2 = p.a.net.connect(8400, '10.0.0.2');
    c1.resume();
    c2.resume();
    await Promise.all([once(c1, 'connect'), once(c2, 'connect')]);
    while (conns.length < 2) await p.net.sleep(100);
    const n = await new Promise((r) => srv.getConnections((_e, count) => r(count)));
    assert.equal(n, 2);
    let closedAt = -1;
    let cbErr: unknown = 'not called';
    srv.close((e) => {
      cbErr = e;
      closedAt = p.net.now;
    });
    assert.equal(srv.listening, false);
    assert.equal(srv.address(), null);
    // no new connections
    const c3 = p.a.net.connect(8400, '10.0.0.2');
    const [e3] = (await once(c3, 'error')) as [ErrnoError];
    assert.equal(e3.code, 'ECONNREFUSED');
    assert.equal(closedAt, -1, 'still two connections');
    c1.end();
    await closed(c1);
    await p.net.sleep(10_000);
    assert.equal(closedAt, -1, 'one connection left');
    c2.end();
    await closed(c2);
    await p.net.sleep(10_000);
    assert.ok(closedAt > 0, "'close' once the last connection closed");
    assert.equal(cbErr, undefined);
    await p.net.close();
  });

  it("maxConnections: beyond it connections are dropped ('drop' with the addresses), the client sees the close", async () => {
    const p = makeNetPair();
    let conn = 0;
    const srv = p.b.net.createServer(() => conn++);
    srv.maxConnections = 1;
    const drops: Record<string, unknown>[] = [];
    srv.on('drop', (d: Record<string, unknown>) => drops.push(d));
    srv.listen(8500);
    await once(srv, 'listening');
    const c1 = p.a.net.connect(8500, '10.0.0.2');
    await once(c1, 'connect');
    const c2 = p.a.net.connect(8500, '10.0.0.2');
    let c2Port = -1;
    c2.on('connect', () => { c2Port = c2.localPort!; });
    c2.resume();
    c2.on('error', () => {});
    await closed(c2);
    assert.equal(conn, 1);
    assert.equal(drops.length, 1);
    assert.deepEqual(drops[0], {
      localAddress: '::ffff:10.0.0.2', localPort: 8500, localFamily: 'IPv6',
      remoteAddress: '::ffff:10.0.0.1', remotePort: c2Port, remoteFamily: 'IPv6',
    });
    await p.net.close();
  });

  it('pauseOnConnect: the socket stays paused until resume(); nothing is read meanwhile', async () => {
    const p = makeNetPair();
    let server: NetSocket | null = null;
    const srv = p.b.net.createServer({ pauseOnConnect: true }, (s) => {
      server = s;
    });
    srv.listen(8600);
    await once(srv, 'listening');
    const c = p.a.net.connect(8600, '10.0.0.2');
    c.end('early bytes');
    c.resume();
    while (server === null) await p.net.sleep(100);
    const s = server as NetSocket;
    assert.equal(s.isPaused(), true);
    await p.net.sleep(50_000);
    assert.equal(s.bytesRead, 0, 'not read while paused');
    const got = collect(s);
    s.resume();
    assert.equal((await got).toString(), 'early bytes');
    await p.net.close();
  });

  it('allowHalfOpen server: the socket stays writable after the peer ended', async () => {
    const p = makeNetPair();
    const srv = p.b.net.createServer({ allowHalfOpen: true }, (s) => {
      s.resume();
      s.on('end', () => {
        assert.equal(s.readyState, 'writeOnly');
        s.end('after your FIN');
      });
    });
    srv.listen(8700);
    await once(srv, 'listening');
    const c = p.a.net.connect({ port: 8700, host: '10.0.0.2', allowHalfOpen: true });
    c.end('bye');
    assert.equal((await collect(c)).toString(), 'after your FIN');
    await p.net.close();
  });

  it('server noDelay / keepAlive options reach accepted sockets; ref/unref return the server', async () => {
    const p = makeNetPair();
    let fd = -1;
    const srv = p.b.net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 3000 }, (s) => {
      fd = s.fd;
    });
    assert.equal(srv.ref(), srv);
    assert.equal(srv.unref(), srv);
    srv.listen(8800);
    await once(srv, 'listening');
    const c = p.a.net.connect(8800, '10.0.0.2');
    await once(c, 'connect');
    while (fd < 0) await p.net.sleep(100);
    assert.equal(p.b.sys.getsockoptInt(fd, C.IPPROTO_TCP, C.TCP_NODELAY), 1);
    assert.equal(p.b.sys.getsockoptInt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE), 1);
    await p.net.close();
  });

  it('network.close() with a listening server and open connections: everything closes', { timeout: 5000 }, async () => {
    const p = makeNetPair();
    const serverSockets: NetSocket[] = [];
    const srv = p.b.net.createServer((s) => serverSockets.push(s));
    srv.listen(8900);
    await once(srv, 'listening');
    const c = p.a.net.connect(8900, '10.0.0.2');
    await once(c, 'connect');
    while (serverSockets.length < 1) await p.net.sleep(100);
    const all = [closed(srv), closed(c), closed(serverSockets[0]!)];
    await p.net.close();
    await Promise.all(all);
    assert.equal(srv.listening, false);
  });
});
