/**
 * A connected `NetSocket` as Node's test-net-* suite checks it: half-open rules (allowHalfOpen
 * false ends our side after 'end'; a later write fails with EPIPE), write after end
 * (ERR_STREAM_WRITE_AFTER_END), backpressure with a slow reader (write() false at the
 * highWaterMark, 'drain' after, every byte delivered in order), bytesRead / bytesWritten,
 * readyState through a connection's life, setEncoding / pause / resume, destroy(err) ('error'
 * then 'close'(true)), destroy twice, destroySoon, resetAndDestroy (the peer's ECONNRESET), a
 * peer RST in the middle of a large write, setTimeout in virtual time (fires once per idle
 * period, re-armed by activity, not destroying, 0 disables), setNoDelay / setKeepAlive through
 * setsockopt, and network.close() settling open sockets.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants as C, type ErrnoError, type NetSocket } from '../../../src/index.js';
import { closed, closePairs, collect, makeNetPair, pattern, record, type Pair } from './helpers.js';

afterEach(closePairs);

/** a listening server on B:port with `onConn`, and a connected client from A; both sockets */
async function connected(
  p: Pair, opts: { server?: { allowHalfOpen?: boolean; pauseOnConnect?: boolean }; client?: { allowHalfOpen?: boolean } } = {},
): Promise<{ c: NetSocket; s: NetSocket }> {
  let s: NetSocket | null = null;
  const srv = p.b.net.createServer(opts.server ?? {}, (x) => { s = x; });
  srv.listen(0);
  await once(srv, 'listening');
  const c = p.a.net.connect({ port: srv.address()!.port, host: '10.0.0.2', ...opts.client });
  await once(c, 'connect');
  while (s === null) await p.net.sleep(10);
  return { c, s };
}

describe('half-open and ending', () => {
  it('allowHalfOpen false: the peer FIN ends our side too; events end → finish → close(false)', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    const log = record(c, ['data', 'end', 'finish', 'close', 'error']);
    assert.equal(c.allowHalfOpen, false);
    const sClosed = closed(s);
    s.end('last words');
    c.setEncoding('utf8');
    let text = '';
    c.on('data', (d: string) => { text += d; });
    await closed(c);
    assert.equal(text, 'last words');
    assert.deepEqual(log, ['data(10)', 'end', 'finish', 'close(false)']);
    await sClosed;
    await p.net.close();
  });

  it("after the peer's FIN (allowHalfOpen false) a write fails with EPIPE 'ended by the other party'", async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    const errs: string[] = [];
    c.on('error', (e: Error & { code: string }) => errs.push(`${e.code}:${e.message}`));
    let cbErr: (Error & { code?: string }) | null | undefined;
    let ret: boolean | null = null;
    c.on('end', () => {
      // after the stream ended our side (its end() runs on the next tick) and before it closed
      process.nextTick(() => process.nextTick(() => {
        assert.equal(c.writableEnded, true);
        ret = c.write('late', (e) => { cbErr = e; });
      }));
    });
    s.end();
    c.resume();
    const [hadError] = await closed(c);
    assert.equal(ret, false);
    assert.equal(cbErr?.code, 'EPIPE');
    assert.deepEqual(errs, ['EPIPE:This socket has been ended by the other party']);
    assert.equal(hadError, true);
    await p.net.close();
  });

  it('write after end: ERR_STREAM_WRITE_AFTER_END to the callback and as error, then close(true)', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    s.resume();
    const log = record(c, ['finish', 'error', 'close']);
    c.end();
    let cbCode = '';
    c.write('x', (e) => { cbCode = (e as Error & { code: string }).code; });
    await closed(c);
    assert.equal(cbCode, 'ERR_STREAM_WRITE_AFTER_END');
    assert.deepEqual(log, ['error(ERR_STREAM_WRITE_AFTER_END)', 'close(true)']);
    await p.net.close();
  });

  it('readyState: open → readOnly after end() → closed; the peer sees writeOnly with allowHalfOpen', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p, { server: { allowHalfOpen: true }, client: { allowHalfOpen: true } });
    assert.equal(c.readyState, 'open');
    assert.equal(s.readyState, 'open');
    c.end();
    assert.equal(c.readyState, 'readOnly');
    s.resume();
    await once(s, 'end');
    assert.equal(s.readyState, 'writeOnly');
    s.end('done');
    c.resume();
    await closed(c);
    assert.equal(c.readyState, 'closed');
    await p.net.close();
  });

  it('destroySoon: ends, destroys once finished', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    const got = collect(s);
    c.write('abc');
    c.destroySoon();
    const log = record(c, ['finish', 'close']);
    assert.equal((await got).toString(), 'abc');
    await closed(c);
    assert.deepEqual(log, ['finish', 'close(false)']);
    await p.net.close();
  });
});

describe('data and backpressure', () => {
  it('a slow reader: write() returns false at the highWaterMark, drain follows, every byte arrives in order', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p, { server: { pauseOnConnect: true } });
    c.on('error', () => {});
    const chunk = pattern(16 * 1024, 3);
    let writes = 0;
    // write until the stream holds back, and until it still holds back after the kernel took
    // what fits in the send buffer and the reader's window
    for (;;) {
      while (c.write(chunk)) writes++;
      writes++;
      assert.ok(c.writableLength >= c.writableHighWaterMark, 'write() false at the highWaterMark');
      await p.net.sleep(200_000);
      if (c.writableNeedDrain) break;
    }
    const total = writes * chunk.length;
    assert.ok(total > 1 << 20, `the kernel buffers took ${total} bytes before backpressure`);
    let drained = 0;
    c.on('drain', () => drained++);
    const got = collect(s);
    s.resume();
    await once(c, 'drain');
    assert.equal(drained, 1);
    c.end();
    const all = await got;
    assert.equal(all.length, total);
    for (let i = 0; i < writes; i++) assert.ok(all.subarray(i * chunk.length, (i + 1) * chunk.length).equals(chunk), `chunk ${i}`);
    await closed(c);
    assert.equal(c.bytesWritten, total);
    assert.equal(s.bytesRead, total);
    await p.net.close();
  });

  it('bytesRead / bytesWritten count both ways and survive destroy; strings count in bytes', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    s.resume();
    c.write('héllo'); // 6 bytes
    c.write(Buffer.alloc(100));
    assert.equal(c.bytesWritten, 106);
    s.write(Buffer.alloc(33));
    c.resume();
    while (c.bytesRead < 33 || s.bytesRead < 106) await p.net.sleep(100);
    assert.equal(c.bytesRead, 33);
    assert.equal(s.bytesRead, 106);
    c.destroy();
    await closed(c);
    assert.equal(c.bytesRead, 33);
    assert.equal(c.bytesWritten, 106);
    await p.net.close();
  });

  it('pause() stops reading (the receive window fills), resume() delivers everything', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    const data = pattern(300_000, 9);
    s.pause();
    c.end(data);
    await p.net.sleep(100_000);
    const before = s.bytesRead;
    await p.net.sleep(100_000);
    assert.equal(s.bytesRead, before, 'nothing read while paused');
    const got = collect(s);
    s.resume();
    assert.ok((await got).equals(data));
    await p.net.close();
  });
});

describe('destroy and reset', () => {
  it("destroy(err): 'error' then 'close'(true); the peer sees an orderly end", async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    const log = record(c, ['end', 'finish', 'error', 'close']);
    const peer = record(s, ['end', 'error', 'close']);
    const sClosed = closed(s);
    s.resume();
    const boom = Object.assign(new Error('boom'), { code: 'EBOOM' });
    c.destroy(boom);
    assert.equal(c.destroyed, true);
    assert.equal(c.readyState, 'closed');
    await closed(c);
    assert.deepEqual(log, ['error(EBOOM)', 'close(true)']);
    await sClosed;
    assert.deepEqual(peer, ['end', 'close(false)']);
    await p.net.close();
  });

  it('destroy twice (and with two errors): one error, one close', async () => {
    const p = makeNetPair();
    const { c } = await connected(p);
    const log = record(c, ['error', 'close']);
    c.destroy(Object.assign(new Error('one'), { code: 'E1' }));
    c.destroy(Object.assign(new Error('two'), { code: 'E2' }));
    c.destroy();
    await closed(c);
    await p.net.sleep(1000);
    assert.deepEqual(log, ['error(E1)', 'close(true)']);
    await p.net.close();
  });

  it('resetAndDestroy: an RST, the peer gets ECONNRESET (read), we close(false)', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    s.resume();
    const peer = record(s, ['end', 'error', 'close']);
    const log = record(c, ['error', 'close']);
    const both = Promise.all([closed(c), closed(s)]);
    assert.equal(c.resetAndDestroy(), c);
    await both;
    assert.deepEqual(log, ['close(false)']);
    assert.deepEqual(peer, ['error(ECONNRESET)', 'close(true)']);
    // a socket that never connected: ERR_SOCKET_CLOSED
    const fresh = new p.a.net.Socket();
    const [err] = (await once(fresh.resetAndDestroy(), 'error')) as [Error & { code: string }];
    assert.equal(err.code, 'ERR_SOCKET_CLOSED');
    await p.net.close();
  });

  it('a peer RST in the middle of a large write: the writer fails (ECONNRESET / EPIPE), close(true), nothing hangs', { timeout: 10_000 }, async () => {
    const p = makeNetPair();
    const fdsA = p.a.sys.files.size;
    const { c, s } = await connected(p);
    const sClosed = closed(s);
    let seen = 0;
    s.on('data', (d: Buffer) => {
      seen += d.length;
      if (seen > 100_000) s.resetAndDestroy();
    });
    const errs: string[] = [];
    c.on('error', (e: ErrnoError) => errs.push(`${e.code}:${e.syscall}`));
    const cbs: (string | undefined)[] = [];
    const big = pattern(8 << 20, 1);
    c.write(big, (e) => cbs.push((e as ErrnoError | null | undefined)?.code));
    c.resume();
    const [hadError] = await closed(c);
    assert.equal(hadError, true);
    assert.equal(errs.length, 1);
    assert.ok(['ECONNRESET:write', 'EPIPE:write', 'ECONNRESET:read'].includes(errs[0]!), errs[0]);
    assert.equal(cbs.length, 1, 'the write callback ran');
    assert.ok(cbs[0] !== undefined);
    assert.ok(c.bytesWritten! < big.length + 1);
    await sClosed;
    assert.equal(p.a.sys.files.size, fdsA, "the client's fd is closed");
    assert.equal(p.b.sys.files.size, 4, 'B holds only stdio and the listener');
    await p.net.close();
  });
});

describe('timeouts and options', () => {
  it('setTimeout: fires after exactly the idle time, once per idle period, re-armed by activity, socket kept', async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p);
    s.resume();
    const times: number[] = [];
    let t0 = p.net.now;
    assert.equal(c.setTimeout(500, () => times.push(p.net.now - t0)), c);
    assert.equal(c.timeout, 500);
    await once(c, 'timeout');
    assert.deepEqual(times, [500_000]);
    assert.equal(c.destroyed, false, 'a timeout does not destroy');
    // no activity: no second timeout
    await p.net.sleep(2_000_000);
    assert.equal(times.length, 1);
    // activity at t1, then idle again: fires 500 ms after the activity
    let fired = -1;
    c.on('timeout', () => { fired = p.net.now; });
    c.write('x');
    t0 = p.net.now;
    await once(c, 'timeout');
    assert.equal(fired - t0, 500_000);
    // 0 disables it
    c.setTimeout(0);
    c.write('y');
    await p.net.sleep(2_000_000);
    assert.equal(fired - t0, 500_000);
    c.destroy();
    await p.net.close();
  });

  it('setTimeout argument checks; setTimeout on a destroyed socket is a no-op', () => {
    const p = makeNetPair();
    const s = new p.a.net.Socket();
    assert.throws(() => s.setTimeout(-1), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => s.setTimeout('5' as never), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => s.setTimeout(5, 'cb' as never), { code: 'ERR_INVALID_ARG_TYPE' });
    s.destroy();
    assert.equal(s.setTimeout(5), s);
    void p.net.close();
  });

  it('setNoDelay / setKeepAlive set TCP_NODELAY / SO_KEEPALIVE (before connect they wait for it)', async () => {
    const p = makeNetPair();
    const { c } = await connected(p);
    const opt = (level: number, name: number): number => p.a.sys.getsockoptInt(c.fd, level, name);
    assert.equal(opt(C.IPPROTO_TCP, C.TCP_NODELAY), 0);
    assert.equal(c.setNoDelay(), c);
    assert.equal(opt(C.IPPROTO_TCP, C.TCP_NODELAY), 1);
    c.setNoDelay(false);
    assert.equal(opt(C.IPPROTO_TCP, C.TCP_NODELAY), 0);
    assert.equal(c.setKeepAlive(true, 10_000), c);
    assert.equal(opt(C.SOL_SOCKET, C.SO_KEEPALIVE), 1);
    c.setKeepAlive(false);
    assert.equal(opt(C.SOL_SOCKET, C.SO_KEEPALIVE), 0);
    // before the connection: remembered, applied at connect
    const d = new p.a.net.Socket();
    d.setNoDelay(true).setKeepAlive(true, 1000);
    assert.equal(d.fd, -1);
    d.connect(c.remotePort!, '10.0.0.2');
    await once(d, 'connect');
    assert.equal(p.a.sys.getsockoptInt(d.fd, C.IPPROTO_TCP, C.TCP_NODELAY), 1);
    assert.equal(p.a.sys.getsockoptInt(d.fd, C.SOL_SOCKET, C.SO_KEEPALIVE), 1);
    assert.equal(c.ref(), c);
    assert.equal(c.unref(), c);
    await p.net.close();
  });

  it('setKeepAlive(true, ms) sets TCP_KEEPIDLE to ms/1000 s', async () => {
    const p = makeNetPair();
    const { c } = await connected(p);
    c.setKeepAlive(true, 7000);
    assert.equal(p.a.sys.getsockoptInt(c.fd, C.IPPROTO_TCP, C.TCP_KEEPIDLE), 7);
    await p.net.close();
  });

  it('network.close() with busy sockets (a blocked write, a paused reader, a connect in flight): all settle', { timeout: 5000 }, async () => {
    const p = makeNetPair();
    const { c, s } = await connected(p, { server: { pauseOnConnect: true } });
    const cbs: unknown[] = [];
    let writes = 0;
    for (;;) {
      writes++;
      while (c.write(pattern(64 * 1024), (e) => cbs.push(e))) writes++;
      await p.net.sleep(100_000);
      if (c.writableNeedDrain) break;
    }
    // one write in the handle (the kernel is full), one more held by the stream
    c.write('buffered in the stream', (e) => cbs.push(e));
    writes++;
    const pending = p.a.net.connect(7, '10.0.0.9');
    await p.net.sleep(1000);
    assert.equal(pending.connecting, true, 'the SYN is in flight (ARP)');
    const errors: unknown[] = [];
    for (const x of [c, s, pending]) x.on('error', (e) => errors.push(e));
    const all = [closed(c), closed(s), closed(pending)];
    await p.net.close();
    await Promise.all(all);
    assert.deepEqual(errors, [], 'shutdown is not a network error');
    await new Promise((r) => setImmediate(r));
    assert.equal(cbs.length, writes, 'every write callback ran');
    assert.equal((cbs[cbs.length - 1] as { code?: string }).code, 'ERR_STREAM_DESTROYED', 'a write still in the stream fails');
    assert.equal(c.destroyed && s.destroyed && pending.destroyed, true);
  });
});
