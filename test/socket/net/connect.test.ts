/**
 * `host.net.connect` / `createConnection` / `new host.net.Socket().connect` in every argument
 * form, with the behaviours Node's test-net-connect-* and test-net-socket-* check: argument
 * validation (thrown, Node's codes), 'lookup' for 'localhost', ENOTFOUND for other names (async),
 * ECONNREFUSED with Node's message and fields, localAddress / localPort, IPv6, the event order
 * 'connect' → 'ready', pending / connecting / readyState, writes queued before the connection,
 * a close during connect, and reconnecting a destroyed socket.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ErrnoError, type NetServer, type NetSocket } from '../../../src/index.js';
import { closed, closePairs, collect, makeNetPair, record, type Pair } from './helpers.js';

afterEach(closePairs);

/** a server on B echoing what it gets, listening on `port` (0: ephemeral); resolves with the port */
async function echoServer(p: Pair, port = 0, host?: string): Promise<{ srv: NetServer; port: number }> {
  const srv = p.b.net.createServer((s) => s.pipe(s));
  if (host === undefined) srv.listen(port);
  else srv.listen(port, host);
  await once(srv, 'listening');
  return { srv, port: srv.address()!.port };
}

/** connects, sends `msg`, ends, resolves with the echoed bytes */
async function roundTrip(c: NetSocket, msg: string): Promise<string> {
  c.end(msg);
  return (await collect(c)).toString();
}

describe('connect argument forms', () => {
  it('connect(port, host, cb): cb on connect, then the echo', async () => {
    const p = makeNetPair();
    const { port } = await echoServer(p);
    let called = 0;
    const c = p.a.net.connect(port, '10.0.0.2', () => called++);
    assert.equal(await roundTrip(c, 'abc'), 'abc');
    assert.equal(called, 1);
    await p.net.close();
  });

  it('createConnection({ port, host }, cb) and a string port', async () => {
    const p = makeNetPair();
    const { port } = await echoServer(p);
    let called = false;
    const c = p.a.net.createConnection({ port: String(port), host: '10.0.0.2' }, () => { called = true; });
    assert.equal(await roundTrip(c, 'x'), 'x');
    assert.ok(called);
    await p.net.close();
  });

  it('new Socket().connect(port, host) returns the socket; connect(port, cb) goes to localhost', async () => {
    const p = makeNetPair();
    const s = new p.a.net.Socket();
    assert.equal(s.connecting, false);
    assert.equal(s.pending, true);
    // a server on A itself for 'localhost'
    const local = p.a.net.createServer((x) => x.pipe(x));
    local.listen(6000, '127.0.0.1');
    await once(local, 'listening');
    const lookups: unknown[][] = [];
    let cb = 0;
    const c = p.a.net.connect(6000, () => cb++);
    c.on('lookup', (...a: unknown[]) => lookups.push(a));
    assert.equal(c.connecting, true);
    assert.equal(c.readyState, 'opening');
    assert.equal(await roundTrip(c, 'loop'), 'loop');
    assert.deepEqual(lookups, [[null, '127.0.0.1', 4, 'localhost']]);
    assert.equal(cb, 1);
    assert.equal(c.remoteAddress, '127.0.0.1');
    const ret = s.connect(6000, '127.0.0.1');
    assert.equal(ret, s);
    assert.equal(await roundTrip(s, 'again'), 'again');
    local.close();
    // family 6: 'localhost' is ::1
    const local6 = p.a.net.createServer((x) => x.pipe(x)).listen({ port: 6001, host: '::1', exclusive: true });
    await once(local6, 'listening');
    const c6 = p.a.net.connect({ port: 6001, host: 'localhost', family: 6 });
    const l6: unknown[][] = [];
    c6.on('lookup', (...a: unknown[]) => l6.push(a));
    assert.equal(await roundTrip(c6, 'six'), 'six');
    assert.deepEqual(l6, [[null, '::1', 6, 'localhost']]);
    assert.equal(c6.remoteFamily, 'IPv6');
    local6.close();
    await p.net.close();
  });

  it('IPv6: connect to fd00::2 reports IPv6 addresses on both sides', async () => {
    const p = makeNetPair();
    let server: NetSocket | null = null;
    const srv = p.b.net.createServer((s) => {
      server = s;
      s.pipe(s);
    });
    srv.listen({ port: 7000, host: 'fd00::2' });
    await once(srv, 'listening');
    assert.deepEqual(srv.address(), { address: 'fd00::2', family: 'IPv6', port: 7000 });
    const c = p.a.net.connect({ port: 7000, host: 'fd00::2' });
    await once(c, 'connect');
    assert.equal(c.remoteAddress, 'fd00::2');
    assert.equal(c.remoteFamily, 'IPv6');
    assert.equal(c.localAddress, 'fd00::1');
    assert.equal(c.localFamily, 'IPv6');
    assert.deepEqual(c.address(), { address: 'fd00::1', family: 'IPv6', port: c.localPort });
    assert.equal(await roundTrip(c, 'six'), 'six');
    assert.equal(server!.remoteAddress, 'fd00::1');
    await p.net.close();
  });

  it('localAddress and localPort are bound before connecting', async () => {
    const p = makeNetPair();
    const { port } = await echoServer(p);
    let peerPort = 0;
    const c = p.a.net.connect({ port, host: '10.0.0.2', localAddress: '10.0.0.1', localPort: 40001 });
    await once(c, 'connect');
    assert.equal(c.localPort, 40001);
    assert.equal(c.localAddress, '10.0.0.1');
    peerPort = c.localPort!;
    assert.equal(await roundTrip(c, 'lp'), 'lp');
    // the port is taken by the first connection's TIME_WAIT? a second bind to a port in use fails with EADDRINUSE
    const busy = p.a.net.createServer();
    busy.listen(40002, '10.0.0.1');
    await once(busy, 'listening');
    const c2 = p.a.net.connect({ port, host: '10.0.0.2', localPort: 40002 });
    const [err] = (await once(c2, 'error')) as [ErrnoError];
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.syscall, 'bind');
    assert.equal(err.message, 'bind EADDRINUSE 0.0.0.0:40002');
    assert.equal(peerPort, 40001);
    await p.net.close();
  });

  it('options noDelay / keepAlive / timeout are applied at connect', async () => {
    const p = makeNetPair();
    const { port } = await echoServer(p);
    const c = p.a.net.connect({ port, host: '10.0.0.2', noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000, timeout: 1000 });
    assert.equal(c.timeout, 1000);
    await once(c, 'connect');
    const { constants: C } = await import('../../../src/index.js');
    assert.equal(p.a.sys.getsockoptInt(c.fd, C.IPPROTO_TCP, C.TCP_NODELAY), 1);
    assert.equal(p.a.sys.getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_KEEPALIVE), 1);
    const t0 = p.net.now;
    await once(c, 'timeout');
    assert.equal(p.net.now - t0, 1_000_000, 'idle for exactly the timeout (virtual time)');
    c.destroy();
    await p.net.close();
  });
});

describe('connect errors', () => {
  it('argument errors throw synchronously with Node codes', () => {
    const p = makeNetPair();
    const net = p.a.net as unknown as { connect(...a: unknown[]): NetSocket };
    const codeOf = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return `${(e as Error).name}:${(e as { code: string }).code}`;
      }
      return 'none';
    };
    assert.equal(codeOf(() => net.connect()), 'TypeError:ERR_MISSING_ARGS');
    assert.equal(codeOf(() => net.connect({ host: '10.0.0.2' })), 'TypeError:ERR_MISSING_ARGS');
    assert.equal(codeOf(() => net.connect(70000, '10.0.0.2')), 'RangeError:ERR_SOCKET_BAD_PORT');
    assert.equal(codeOf(() => net.connect({ port: -1 })), 'RangeError:ERR_SOCKET_BAD_PORT');
    assert.equal(codeOf(() => net.connect({ port: 1.5 })), 'RangeError:ERR_SOCKET_BAD_PORT');
    assert.equal(codeOf(() => net.connect({ port: true })), 'TypeError:ERR_INVALID_ARG_TYPE');
    assert.equal(codeOf(() => net.connect({ port: 80, localAddress: 'nope' })), 'TypeError:ERR_INVALID_IP_ADDRESS');
    assert.equal(codeOf(() => net.connect({ port: 80, localPort: '9' })), 'TypeError:ERR_INVALID_ARG_TYPE');
    assert.equal(codeOf(() => net.connect('/tmp/some.sock')), 'TypeError:ERR_INVALID_ARG_VALUE');
    void p.net.close();
  });

  it('ECONNREFUSED: error then close(true), Node message and fields', async () => {
    const p = makeNetPair();
    const c = p.a.net.connect(9, '10.0.0.2');
    const log = record(c, ['connect', 'ready', 'error', 'close']);
    const [err] = (await once(c, 'error')) as [ErrnoError];
    assert.ok(err instanceof ErrnoError);
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.errno, 111);
    assert.equal(err.syscall, 'connect');
    assert.equal(err.message, 'connect ECONNREFUSED 10.0.0.2:9');
    assert.equal((err as unknown as { address: string }).address, '10.0.0.2');
    assert.equal((err as unknown as { port: number }).port, 9);
    await once(c, 'close');
    assert.deepEqual(log, ['error(ECONNREFUSED)', 'close(true)']);
    assert.equal(c.readyState, 'closed');
    assert.equal(c.destroyed, true);
    await p.net.close();
  });

  it('a name that is not a literal: lookup(err) then ENOTFOUND, asynchronously', async () => {
    const p = makeNetPair();
    const c = p.a.net.connect({ port: 80, host: 'example.invalid' });
    const log = record(c, ['lookup', 'connect', 'error', 'close']);
    assert.deepEqual(log, [], 'nothing synchronously: listeners added after connect() still hear it');
    const [err] = (await once(c, 'error')) as [ErrnoError & { hostname: string }];
    assert.equal(err.code, 'ENOTFOUND');
    assert.equal(err.syscall, 'getaddrinfo');
    assert.equal(err.hostname, 'example.invalid');
    assert.equal(err.message, 'getaddrinfo ENOTFOUND example.invalid');
    await once(c, 'close');
    assert.deepEqual(log, ['lookup', 'error(ENOTFOUND)', 'close(true)']);
    await p.net.close();
  });

  it('a SYN to an address nobody owns fails asynchronously (EHOSTUNREACH / ETIMEDOUT), then close(true)', async () => {
    const p = makeNetPair();
    const fds = p.a.sys.files.size;
    const c = p.a.net.connect(7, '10.0.0.9');
    const log = record(c, ['connect', 'error', 'close']);
    const [err] = (await once(c, 'error')) as [ErrnoError];
    assert.ok(err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH', err.code);
    assert.equal(err.syscall, 'connect');
    assert.equal(err.message, `connect ${err.code} 10.0.0.9:7`);
    await once(c, 'close');
    assert.deepEqual(log, [`error(${err.code})`, 'close(true)']);
    assert.equal(p.a.sys.files.size, fds, 'the fd is closed');
    await p.net.close();
  });
});

describe('connect lifecycle', () => {
  it('event order: connect, ready, then data / end / finish / close(false)', async () => {
    const p = makeNetPair();
    const { port } = await echoServer(p);
    const c = p.a.net.connect(port, '10.0.0.2');
    const log = record(c, ['lookup', 'connect', 'ready', 'data', 'end', 'finish', 'close', 'error']);
    c.on('connect', () => {
      assert.equal(c.pending, false);
      assert.equal(c.connecting, false);
      assert.equal(c.readyState, 'open');
      c.end('hello');
    });
    await once(c, 'close');
    assert.deepEqual(log, ['connect', 'ready', 'finish', 'data(5)', 'end', 'close(false)']);
    await p.net.close();
  });

  it('writes before the connection are queued and counted in bytesWritten', async () => {
    const p = makeNetPair();
    const { port } = await echoServer(p);
    const c = p.a.net.connect(port, '10.0.0.2');
    assert.equal(c.bytesWritten, 0);
    c.write('hello ');
    c.write(Buffer.from('world'));
    assert.equal(c.bytesWritten, 11, 'queued bytes count before the connection (Node)');
    c.end();
    assert.equal((await collect(c)).toString(), 'hello world');
    await once(c, 'close');
    assert.equal(c.bytesWritten, 11);
    assert.equal(c.bytesRead, 11);
    await p.net.close();
  });

  it('destroy during connect: close without connect, a queued write fails, the server sees nothing', async () => {
    const p = makeNetPair();
    const fds = p.a.sys.files.size;
    let accepted = 0;
    const srv = p.b.net.createServer(() => accepted++);
    srv.listen(7100);
    await once(srv, 'listening');
    const c = p.a.net.connect(7100, '10.0.0.2');
    const log = record(c, ['connect', 'error', 'close']);
    const cbErr: (Error | null | undefined)[] = [];
    c.write('x', (e) => cbErr.push(e));
    c.destroy();
    await once(c, 'close');
    assert.deepEqual(log, ['close(false)']);
    assert.equal(cbErr.length, 1);
    assert.ok(cbErr[0] instanceof Error);
    await p.net.sleep(1_000_000);
    assert.equal(accepted, 0);
    assert.equal(p.a.sys.files.size, fds, 'no fd left on A');
    await p.net.close();
  });

  it('a destroyed socket can connect again', async () => {
    const p = makeNetPair();
    const { port } = await echoServer(p);
    const c = p.a.net.connect(9, '10.0.0.2');
    c.on('error', () => {});
    await closed(c);
    c.connect(port, '10.0.0.2');
    assert.equal(await roundTrip(c, 'second'), 'second');
    await p.net.close();
  });
});
