/**
 * Node's own `http` module over our sockets, between two simulated hosts in virtual time: the
 * server side through `httpServer.emit('connection', socket)` for each `host.net` connection, the
 * client through an `http.Agent` whose `createConnection` is `host.net.createConnection` (and
 * through `http.request({ createConnection })` without an agent). HTTP/1.1 with keep-alive (two
 * requests on one connection) and chunked request and response bodies, byte-exact.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { NetSocket } from '../../src/index.js';
import { closePairs, makeNetPair, pattern, type Pair } from './net/helpers.js';

afterEach(closePairs);

interface Seen {
  method: string;
  url: string;
  te: string | undefined;
  body: Buffer;
  remotePort: number | undefined;
}

/** an http server on B:80 that answers every request with a chunked echo of its body */
async function httpServer(p: Pair): Promise<{ seen: Seen[]; conns: NetSocket[]; close(): void }> {
  const seen: Seen[] = [];
  const conns: NetSocket[] = [];
  const hs = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      seen.push({ method: req.method!, url: req.url!, te: req.headers['transfer-encoding'], body, remotePort: req.socket.remotePort });
      res.setHeader('content-type', 'application/octet-stream');
      // several writes without a length: a chunked response
      res.write('echo:');
      res.write(body);
      res.end(':end');
    });
  });
  const srv = p.b.net.createServer((s) => {
    conns.push(s);
    hs.emit('connection', s);
  });
  srv.listen(80, '10.0.0.2');
  await once(srv, 'listening');
  return {
    seen,
    conns,
    close(): void {
      srv.close();
      hs.close();
    },
  };
}

interface Reply {
  status: number;
  te: string | undefined;
  connection: string | undefined;
  body: Buffer;
}

function post(opts: http.RequestOptions, parts: Buffer[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '10.0.0.2', port: 80, method: 'POST', ...opts }, (res) => {
      const got: Buffer[] = [];
      res.on('data', (d: Buffer) => got.push(d));
      res.on('end', () => resolve({
        status: res.statusCode!, te: res.headers['transfer-encoding'], connection: res.headers.connection, body: Buffer.concat(got),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // no content-length and several writes: a chunked request body
    for (let i = 0; i < parts.length - 1; i++) req.write(parts[i]);
    req.end(parts[parts.length - 1]);
  });
}

describe('node:http over host.net', () => {
  it('keep-alive: two chunked requests on one connection, chunked responses, byte-exact, in virtual time', async () => {
    const p = makeNetPair();
    const server = await httpServer(p);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let created = 0;
    agent.createConnection = ((o: Record<string, unknown>, cb: (err: Error | null, s: NetSocket) => void) => {
      created++;
      return p.a.net.createConnection(o, cb as never);
    }) as never;
    const body1 = pattern(70_000, 1);
    const body2 = pattern(3000, 2);
    const t0 = p.net.now;
    const r1 = await post({ path: '/one', agent }, [body1.subarray(0, 10), body1.subarray(10, 40_000), body1.subarray(40_000)]);
    const r2 = await post({ path: '/two?x=1', agent }, [body2.subarray(0, 1), body2.subarray(1)]);
    const elapsed = p.net.now - t0;
    assert.equal(r1.status, 200);
    assert.equal(r1.te, 'chunked');
    assert.equal(r1.connection, 'keep-alive');
    assert.ok(r1.body.equals(Buffer.concat([Buffer.from('echo:'), body1, Buffer.from(':end')])));
    assert.ok(r2.body.equals(Buffer.concat([Buffer.from('echo:'), body2, Buffer.from(':end')])));
    assert.equal(server.seen.length, 2);
    assert.deepEqual(server.seen.map((s) => [s.method, s.url, s.te]), [['POST', '/one', 'chunked'], ['POST', '/two?x=1', 'chunked']]);
    assert.ok(server.seen[0]!.body.equals(body1));
    assert.ok(server.seen[1]!.body.equals(body2));
    assert.equal(created, 1, 'one connection for both requests');
    assert.equal(server.conns.length, 1);
    assert.equal(server.seen[0]!.remotePort, server.seen[1]!.remotePort);
    assert.ok(elapsed > 0 && elapsed < 1_000_000, `virtual time ${elapsed} µs`);
    agent.destroy();
    await once(server.conns[0]!, 'close');
    server.close();
    await p.net.close();
  });

  it('http.request({ createConnection }) without an agent: Connection: close, the socket closes after the reply', async () => {
    const p = makeNetPair();
    const server = await httpServer(p);
    let sock: NetSocket | null = null;
    const r = await post({
      path: '/solo',
      createConnection: ((o: Record<string, unknown>) => {
        sock = p.a.net.createConnection(o);
        return sock;
      }) as never,
    }, [Buffer.from('a'), Buffer.from('bc')]);
    assert.equal(r.status, 200);
    assert.equal(r.connection, 'close');
    assert.equal(r.body.toString(), 'echo:abc:end');
    assert.ok(sock !== null);
    const s = sock as NetSocket;
    if (!s.destroyed) await once(s, 'close');
    assert.equal(server.seen[0]!.te, 'chunked');
    server.close();
    await p.net.close();
  });

  it('a server reset mid-request: the client request fails with ECONNRESET and nothing hangs', { timeout: 10_000 }, async () => {
    const p = makeNetPair();
    const srv = p.b.net.createServer((s) => {
      s.once('data', () => s.resetAndDestroy());
    });
    srv.listen(80, '10.0.0.2');
    await once(srv, 'listening');
    const err = await post({ path: '/x', createConnection: ((o: Record<string, unknown>) => p.a.net.createConnection(o)) as never }, [Buffer.from('hi')])
      .then(() => null, (e: Error & { code: string }) => e);
    assert.ok(err !== null);
    assert.equal(err.code, 'ECONNRESET');
    await p.net.close();
  });
});
