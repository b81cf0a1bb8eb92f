import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type DgramEnv, type DgramSocket, type RemoteInfo } from '../../src/socket/api/dgram.js';
import { FdTable, Syscalls } from '../../src/socket/index.js';
import type { TcpProto } from '../../src/tcp/index.js';
import { ErrnoError } from '../../src/uapi/index.js';
import { UdpProto } from '../../src/udp/index.js';
import { FakeIp, FakeNet } from './fake-ip.js';

/** a syscall layer with UDP only (no TCP: SOCK_STREAM is never asked for here) */
function syscalls(udp: UdpProto): Syscalls {
  return new Syscalls({ files: new FdTable(), tcp: null as unknown as TcpProto, udp });
}

function setup() {
  const net = new FakeNet();
  const ipa = new FakeIp(net, ['10.0.0.1', '2001:db8::1']);
  const ipb = new FakeIp(net, ['10.0.0.2', '2001:db8::2']);
  let wakeups = 0;
  const sched = { noteWakeup: () => { wakeups++; } };
  const a: DgramEnv = { sys: syscalls(new UdpProto(ipa, ipa.skbs, 1)), sched };
  const b: DgramEnv = { sys: syscalls(new UdpProto(ipb, ipb.skbs, 2)), sched };
  return { net, a, b, ipa, ipb, wakeups: () => wakeups };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function once<T extends unknown[]>(s: DgramSocket, ev: string): Promise<T> {
  return new Promise((resolve) => s.once(ev, (...args: unknown[]) => resolve(args as T)));
}

function messages(s: DgramSocket): [Buffer, RemoteInfo][] {
  const out: [Buffer, RemoteInfo][] = [];
  s.on('message', (m: Buffer, r: RemoteInfo) => out.push([m, r]));
  return out;
}

describe('host.dgram: node:dgram-like sockets', () => {
  it('bind, listening, send with callback, message with rinfo', async () => {
    const { net, a, b, wakeups } = setup();
    const srv = createSocket(b, 'udp4');
    const got = messages(srv);
    let listened = false;
    srv.bind(41234, () => { listened = true; });
    assert.equal(listened, false, "'listening' is asynchronous");
    await once(srv, 'listening');
    assert.equal(listened, true);
    assert.deepEqual(srv.address(), { address: '0.0.0.0', family: 'IPv4', port: 41234 });
    const cli = createSocket(a, 'udp4');
    const cliListening = once(cli, 'listening');
    const sent = new Promise<[Error | null, number | undefined]>((resolve) => {
      cli.send('hello', 41234, '10.0.0.2', (err, n) => resolve([err, n]));
    });
    await cliListening; // implicit bind
    assert.deepEqual(await sent, [null, 5]);
    net.flush();
    await tick();
    assert.equal(got.length, 1);
    assert.equal(got[0]![0].toString(), 'hello');
    assert.deepEqual(got[0]![1], { address: '10.0.0.1', family: 'IPv4', port: cli.address().port, size: 5 });
    assert.ok(wakeups() > 0, 'the scheduler was told about the wakeup');
    // offset/length, arrays, typed arrays
    cli.send(Buffer.from('xxabcxx'), 2, 3, 41234, '10.0.0.2');
    cli.send(['ab', Buffer.from('cd'), new Uint8Array([0x65])], 41234, '10.0.0.2');
    cli.send(new Uint16Array([0x4241]), 41234, '10.0.0.2');
    net.flush();
    await tick();
    assert.deepEqual(got.slice(1).map(([m]) => m.toString('latin1')), ['abc', 'abcde', 'AB']);
    const closed = once(srv, 'close');
    srv.close();
    await closed;
    assert.throws(() => srv.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    assert.throws(() => srv.close(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    cli.close();
  });

  it('errors as Node reports them', async () => {
    const { a } = setup();
    assert.throws(() => createSocket(a, 'udp5' as 'udp4'), { name: 'TypeError', code: 'ERR_SOCKET_BAD_TYPE' });
    const s = createSocket(a, 'udp4');
    assert.throws(() => s.address(), (e: unknown) => e instanceof ErrnoError && e.code === 'EBADF' && e.syscall === 'getsockname');
    assert.throws(() => s.send('x', 0, '10.0.0.2'), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' });
    assert.throws(() => s.send('x', 70000, '10.0.0.2'), { code: 'ERR_SOCKET_BAD_PORT' });
    assert.throws(() => s.send(42 as unknown as string, 1, '10.0.0.2'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => s.send(Buffer.alloc(4), 2, 5, 1, '10.0.0.2'), { code: 'ERR_BUFFER_OUT_OF_BOUNDS' });
    assert.throws(() => s.setRecvBufferSize(1000), { code: 'ERR_SOCKET_BUFFER_SIZE' });
    assert.throws(() => s.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    assert.throws(() => s.disconnect(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    s.bind(5000);
    assert.throws(() => s.bind(5001), { code: 'ERR_SOCKET_ALREADY_BOUND' });
    s.setRecvBufferSize(1000);
    assert.equal(s.getRecvBufferSize(), 2304, 'Linux doubles, with its minimum');
    s.setRecvBufferSize(100_000);
    assert.equal(s.getRecvBufferSize(), 200_000);
    assert.throws(() => s.setTTL(0), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL' && e.syscall === 'setTTL');
    assert.equal(s.setTTL(5), 5);
    const t = createSocket(a, 'udp4');
    const errP = once<[ErrnoError]>(t, 'error');
    t.bind(5000, '0.0.0.0');
    const [err] = await errP;
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.syscall, 'bind');
    assert.equal(err.message, 'bind EADDRINUSE 0.0.0.0:5000');
    assert.equal((err as unknown as { port: number }).port, 5000);
    t.bind(5002, '10.0.0.1'); // a failed bind leaves the socket unbound: it may bind again
    await once(t, 'listening');
    const big = await new Promise<Error | null>((resolve) => s.send(Buffer.alloc(65508), 1, '10.0.0.2', (e) => resolve(e)));
    assert.ok(big instanceof ErrnoError && big.code === 'EMSGSIZE' && big.syscall === 'send');
    const nf = await new Promise<Error | null>((resolve) => s.send('x', 1, 'no.such.host', (e) => resolve(e)));
    assert.equal((nf as unknown as { code: string }).code, 'ENOTFOUND');
    const inv = await new Promise<Error | null>((resolve) => s.send('x', 1, '::1', (e) => resolve(e)));
    assert.ok(inv instanceof ErrnoError && inv.code === 'EINVAL', 'an IPv6 literal on an udp4 socket');
    s.close();
    t.close();
  });

  it('connect, send without address, remoteAddress, ECONNREFUSED as an error event, disconnect', async () => {
    const { net, a, b } = setup();
    const srv = createSocket(b, 'udp4');
    srv.bind(7000);
    const got = messages(srv);
    const c = createSocket(a, 'udp4');
    const connected = once(c, 'connect');
    c.connect(7000, '10.0.0.2');
    await connected;
    assert.deepEqual(c.remoteAddress(), { address: '10.0.0.2', family: 'IPv4', port: 7000 });
    assert.equal(c.address().address, '10.0.0.1', 'bound to the route source by connect');
    assert.throws(() => c.connect(7000, '10.0.0.2'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
    assert.throws(() => c.send('x', 0, 1, 7000, '10.0.0.2'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
    const n = await new Promise<number | undefined>((resolve) => c.send('ping', (_e, k) => resolve(k)));
    assert.equal(n, 4);
    net.flush();
    await tick();
    assert.equal(got[0]![0].toString(), 'ping');
    // the server goes away: the next datagram draws port unreachable → 'error' (recvmsg)
    srv.close();
    const errP = once<[ErrnoError]>(c, 'error');
    c.send('again');
    net.flush();
    const [err] = await errP;
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'recvmsg');
    c.disconnect();
    assert.throws(() => c.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    c.close();
  });

  it('udp6 dual stack: IPv4 senders appear as ::ffff:a.b.c.d; ipv6Only keeps them out', async () => {
    const { net, a, b, ipb } = setup();
    const s6 = createSocket(b, 'udp6');
    s6.bind(8000);
    const got = messages(s6);
    const only = createSocket(b, { type: 'udp6', ipv6Only: true });
    only.bind(8001);
    const c4 = createSocket(a, 'udp4');
    const c6 = createSocket(a, 'udp6');
    c4.send('v4', 8000, '10.0.0.2');
    c6.send('v6', 8000, '2001:db8::2');
    c4.send('no', 8001, '10.0.0.2');
    net.flush();
    await tick();
    assert.deepEqual(got.map(([m, r]) => [m.toString(), r.address, r.family]), [
      ['v4', '::ffff:10.0.0.1', 'IPv6'],
      ['v6', '2001:db8::1', 'IPv6'],
    ]);
    assert.equal(ipb.portUnreachSent, 1);
    assert.deepEqual(s6.address(), { address: '::', family: 'IPv6', port: 8000 });
    for (const s of [s6, only, c4, c6]) s.close();
    assert.equal(ipb.skbs.live, 0);
  });

  it('reusePort option: several sockets share a port and the flows spread', async () => {
    const { net, a, b } = setup();
    const socks = [0, 1, 2].map(() => createSocket(b, { type: 'udp4', reusePort: true }));
    const counts = socks.map(() => 0);
    socks.forEach((s, i) => { s.bind(9999); s.on('message', () => { counts[i]!++; }); });
    const senders = Array.from({ length: 30 }, () => createSocket(a, 'udp4'));
    for (const s of senders) s.send('x', 9999, '10.0.0.2');
    net.flush();
    await tick();
    assert.equal(counts.reduce((x, y) => x + y, 0), 30);
    for (const c of counts) assert.ok(c > 0, `spread ${counts.join(',')}`);
    for (const s of [...socks, ...senders]) s.close();
  });
});
