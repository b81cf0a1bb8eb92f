/**
 * TCP on the family-neutral contract, unit level (fake IpLayer): IPv4 and IPv6 flows, dual-stack
 * listeners, specific-vs-wildcard and SO_REUSEPORT demux, ICMP errors and local neighbour
 * failures, path MTU reduction, memory waits, ports.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../src/inet/index.js';
import { IcmpErr, RxMeta } from '../../src/net/index.js';
import { CHECKSUM_NONE, skbPut } from '../../src/skb/index.js';
import { csumFinish, csumPartial } from '../../src/wire/checksum.js';
import { pseudoHeaderSum } from '../../src/inet/index.js';
import { TCP_CLOSE, TCP_ESTABLISHED, TCP_SYN_SENT, tcpPoll, tcpSockError, type TcpSock } from '../../src/tcp/index.js';
import { ERRNO, POLLERR, POLLHUP, POLLOUT } from '../../src/uapi/index.js';
import { TCP_ACK, TCP_RST, TCP_SYN, TcpOptions, parseTcpOptions } from '../../src/wire/tcp.js';
import { FakeNet, attach, drain, seg, type FakeHost, type Wire } from './fake-ip.js';

const A = (s: string): InetAddr => InetAddr.parse(s);
/** bytes of the timestamp option in every segment (on by default, as in Linux) */
const TS = 12;

function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 11) + salt) & 0xff;
  return b;
}

function twoHosts(opts: { memA?: number; mtu?: number } = {}): { net: FakeNet; a: FakeHost; b: FakeHost } {
  const net = new FakeNet();
  const a = net.addHost('a', ['10.0.0.1', '2001:db8::1'], { memBytes: opts.memA, mtu: opts.mtu });
  const b = net.addHost('b', ['10.0.0.2', '10.0.0.3', '2001:db8::2'], { mtu: opts.mtu });
  return { net, a, b };
}

function listen(h: FakeHost, family: 4 | 6, addr: string, port: number, flags: { v6only?: boolean; reusePort?: boolean; reuseAddr?: boolean } = {}, owner = 0): TcpSock {
  const l = h.tcp.socket(family, owner);
  attach(l);
  assert.equal(h.tcp.userBind(l, A(addr), port, flags), 0);
  assert.equal(h.tcp.userListen(l, 128), 0);
  return l;
}

/** connects, runs until ESTABLISHED; returns [client, accepted child] */
function connect(net: FakeNet, c: FakeHost, family: 4 | 6, to: string, port: number, l: TcpSock, s: FakeHost): [TcpSock, TcpSock] {
  const tp = c.tcp.socket(family);
  attach(tp);
  assert.equal(c.tcp.userConnect(tp, A(to), port), 0);
  assert.ok(net.run(() => tp.state === TCP_ESTABLISHED && l.acceptQueue.length > 0, 5_000_000), `connect ${tp.stateName}`);
  const child = s.tcp.userAccept(l);
  assert.ok(child !== null);
  attach(child);
  return [tp, child];
}

/** sends `data` from `tx` while reading at `rx`; returns what `rx` got */
function transfer(net: FakeNet, from: FakeHost, tx: TcpSock, rx: TcpSock, data: Uint8Array, limitUs = 600_000_000): Uint8Array {
  const got: Uint8Array[] = [];
  let gotLen = 0;
  let off = 0;
  const end = net.now + limitUs;
  while (gotLen < data.length && net.now < end) {
    if (off < data.length) {
      const r = from.tcp.userSend(tx, data, off, data.length - off, false);
      if (r > 0) off += r;
      else assert.equal(r, -ERRNO.EAGAIN);
    }
    const part = drain(rx);
    if (part.length > 0) {
      got.push(part);
      gotLen += part.length;
      continue;
    }
    if (!net.sched.step(end)) break;
  }
  const out = new Uint8Array(gotLen);
  let o = 0;
  for (const p of got) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function synMss(w: Wire): number {
  const o = new TcpOptions();
  const s = seg(w);
  parseTcpOptions(w.bytes, 20, s.doff - 20, o);
  return o.mss;
}

function icmp(fields: Partial<IcmpErr>, quote: Wire): IcmpErr {
  const e = new IcmpErr();
  Object.assign(e, fields);
  e.family = quote.dst.family;
  e.src.set(quote.src);
  e.dst.set(quote.dst);
  e.proto = 6;
  e.buf = quote.bytes;
  e.dv = new DataView(quote.bytes.buffer);
  e.l4Off = 0;
  e.l4Len = Math.min(quote.bytes.length, 28);
  return e;
}

describe('TCP over IPv4 and IPv6 (fake IP layer)', () => {
  for (const fam of [4, 6] as const) {
    it(`IPv${fam}: handshake MSS = MTU − ${fam === 4 ? 40 : 60}, checksums verified, 2 MiB with 5% loss delivered intact`, () => {
      const { net, a, b } = twoHosts();
      const srv = fam === 4 ? '10.0.0.2' : '2001:db8::2';
      const l = listen(b, fam, fam === 4 ? '0.0.0.0' : '::', 5201);
      const [c, s] = connect(net, a, fam, srv, 5201, l, b);
      const syn = net.log.find((w) => seg(w).flags === TCP_SYN)!;
      assert.equal(syn.dst.family, fam);
      assert.equal(synMss(syn), fam === 4 ? 1460 : 1440);
      // the timestamp option takes 12 bytes of every segment (Linux tcp_mtu_to_mss)
      assert.ok(c.tsOk);
      assert.equal(c.mss, (fam === 4 ? 1460 : 1440) - TS);
      assert.equal(s.raddr.toString(), fam === 4 ? '10.0.0.1' : '2001:db8::1');
      assert.equal(c.laddr.toString(), fam === 4 ? '10.0.0.1' : '2001:db8::1');
      let n = 0;
      net.drop = () => ++n % 20 === 0;
      const data = pattern(2 << 20, fam);
      const got = transfer(net, a, c, s, data);
      assert.equal(got.length, data.length);
      assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'every byte in order');
      assert.equal(a.tcp.stats.inCsumErrors + b.tcp.stats.inCsumErrors, 0);
      assert.ok(a.tcp.stats.retransSegs > 0, 'the drops were retransmitted');
      for (const w of net.log) assert.ok(w.bytes.length - seg(w).doff <= (fam === 4 ? 1460 : 1440) - TS);
      // close both; resources back to zero
      net.drop = null;
      a.tcp.userClose(c);
      net.run(() => s.finReceived, 10_000_000);
      b.tcp.userClose(s);
      b.tcp.userClose(l);
      net.run(() => false, 200_000_000);
      assert.equal(a.tcp.connectionCount + b.tcp.connectionCount, 0);
      assert.equal(a.tcp.ports.size + b.tcp.ports.size, 0);
      assert.equal(b.tcp.demux.listenerCount, 0);
      assert.equal(net.sched.pending, 0, 'stack quiet');
    });
  }

  it('same seed → same bytes on the wire (IPv6)', () => {
    const run = (): Uint8Array[] => {
      const { net, a, b } = twoHosts();
      const l = listen(b, 6, '::', 80);
      const [c, s] = connect(net, a, 6, '2001:db8::2', 80, l, b);
      let n = 0;
      net.drop = () => ++n % 13 === 0;
      transfer(net, a, c, s, pattern(200_000));
      return net.log.map((w) => w.bytes);
    };
    const x = run();
    const y = run();
    assert.equal(x.length, y.length);
    for (let i = 0; i < x.length; i++) assert.ok(Buffer.from(x[i]!).equals(Buffer.from(y[i]!)), `datagram ${i}`);
  });

  it('a corrupted segment is counted and dropped (IPv6 pseudo-header checksum)', () => {
    const { net, a, b } = twoHosts();
    const l = listen(b, 6, '::', 80);
    const [c, s] = connect(net, a, 6, '2001:db8::2', 80, l, b);
    let first = true;
    net.drop = (w) => {
      if (first && w.bytes.length > 100) {
        first = false;
        w.bytes[w.bytes.length - 1]! ^= 0x40;
      }
      return false;
    };
    const got = transfer(net, a, c, s, pattern(10_000));
    assert.equal(b.tcp.stats.inCsumErrors, 1);
    assert.ok(Buffer.from(got).equals(Buffer.from(pattern(10_000))));
  });
});

describe('TCP listener demux', () => {
  it('dual-stack :: listener accepts an IPv4 client (v4-mapped); v6only refuses it with RST', () => {
    const { net, a, b } = twoHosts();
    const l = listen(b, 6, '::', 8080);
    const [c, s] = connect(net, a, 4, '10.0.0.2', 8080, l, b);
    assert.equal(s.sockFamily, 6);
    assert.equal(s.raddr.family, 4);
    assert.equal(s.raddr.toString(), '10.0.0.1');
    assert.equal(s.laddr.toString(), '10.0.0.2');
    const got = transfer(net, a, c, s, pattern(5000));
    assert.equal(got.length, 5000);
    // the wire carried IPv4
    assert.ok(net.log.every((w) => w.dst.family === 4));

    const l6 = listen(b, 6, '::', 8081, { v6only: true });
    const tp = a.tcp.socket(4);
    const o = attach(tp);
    assert.equal(a.tcp.userConnect(tp, A('10.0.0.2'), 8081), 0);
    net.run(() => tp.state === TCP_CLOSE, 5_000_000);
    assert.equal(tcpSockError(tp), ERRNO.ECONNREFUSED);
    assert.ok(o.states.includes('CLOSE'));
    assert.equal(l6.acceptQueue.length, 0);
    // an IPv6 client is accepted by the v6only listener
    connect(net, a, 6, '2001:db8::2', 8081, l6, b);
  });

  it('a specific bind beats a wildcard; AF_INET beats dual-stack AF_INET6 at equal specificity', () => {
    const { net, a, b } = twoHosts();
    const wild = listen(b, 4, '0.0.0.0', 80, { reusePort: true });
    const spec = listen(b, 4, '10.0.0.2', 80, { reusePort: true });
    connect(net, a, 4, '10.0.0.2', 80, spec, b);
    assert.equal(wild.acceptQueue.length, 0);
    connect(net, a, 4, '10.0.0.3', 80, wild, b);
    assert.equal(spec.acceptQueue.length, 0);

    const dual = listen(b, 6, '::', 81, { reusePort: true });
    const v4 = listen(b, 4, '0.0.0.0', 81, { reusePort: true });
    connect(net, a, 4, '10.0.0.2', 81, v4, b);
    assert.equal(dual.acceptQueue.length, 0);
    connect(net, a, 6, '2001:db8::2', 81, dual, b);
  });

  it('SO_REUSEPORT spreads connections over the group by flow hash', () => {
    const { net, a, b } = twoHosts();
    const ls = [0, 1, 2, 3].map(() => listen(b, 6, '::', 9000, { reusePort: true }, 7));
    // a different owner may not join
    const intruder = b.tcp.socket(6, 8);
    assert.equal(b.tcp.userBind(intruder, A('::'), 9000, { reusePort: true }), -ERRNO.EADDRINUSE);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 64; i++) {
      const tp = a.tcp.socket(i % 2 ? 4 : 6);
      attach(tp);
      assert.equal(a.tcp.userConnect(tp, A(i % 2 ? '10.0.0.2' : '2001:db8::2'), 9000), 0);
      assert.ok(net.run(() => tp.state === TCP_ESTABLISHED, 5_000_000));
    }
    net.run(() => ls.reduce((n, l) => n + l.acceptQueue.length, 0) === 64, 5_000_000);
    ls.forEach((l, i) => (counts[i] = l.acceptQueue.length));
    assert.equal(counts.reduce((x, y) => x + y), 64);
    for (const c of counts) assert.ok(c >= 6, `spread ${counts.join(',')}`);
  });
});

describe('TCP ICMP errors (tcp_v4_err / tcp_v6_err)', () => {
  for (const fam of [4, 6] as const) {
    it(`IPv${fam}: connect to an unreachable neighbour fails with EHOSTUNREACH after ~3 s`, () => {
      const { net, a } = twoHosts();
      const dst = fam === 4 ? '10.0.0.9' : '2001:db8::9';
      a.ip.unreachable.add(dst);
      const tp = a.tcp.socket(fam);
      const o = attach(tp);
      const t0 = net.now;
      assert.equal(a.tcp.userConnect(tp, A(dst), 80), 0);
      net.run(() => tp.state === TCP_CLOSE, 200_000_000);
      const dt = net.now - t0;
      assert.ok(dt >= 3_000_000 && dt < 4_000_000, `failed after ${dt} µs`);
      assert.equal(tp.error, ERRNO.EHOSTUNREACH);
      assert.ok(tcpPoll(tp) & POLLERR);
      assert.ok(tcpPoll(tp) & POLLHUP);
      assert.equal(tcpSockError(tp), ERRNO.EHOSTUNREACH);
      assert.equal(tcpSockError(tp), 0);
      assert.ok(o.states.includes('CLOSE'));
      assert.equal(a.tcp.stats.attemptFails, 1);
      net.run(() => false, 10_000_000);
      assert.equal(a.tcp.connectionCount, 0);
      assert.equal(a.tcp.ports.size, 0);
      assert.equal(net.sched.pending, 0);
    });
  }

  it('port unreachable in SYN_SENT → ECONNREFUSED; out-of-window and unknown quotes are ignored', () => {
    const { net, a, b } = twoHosts();
    net.drop = (w) => w.from === 'a';
    const tp = a.tcp.socket(4);
    attach(tp);
    assert.equal(a.tcp.userConnect(tp, A('10.0.0.2'), 81), 0);
    const syn = net.log[0]!;
    // wrong sequence: ignored
    const bad = new Uint8Array(syn.bytes);
    new DataView(bad.buffer).setUint32(4, seg(syn).seq + 1000);
    a.tcp.err(icmp({ type: 3, code: 3, errno: ERRNO.ECONNREFUSED, fatal: true }, { ...syn, bytes: bad }));
    assert.equal(tp.state, TCP_SYN_SENT);
    assert.equal(a.tcp.stats.outOfWindowIcmps, 1);
    // unknown connection: ignored
    const other = new Uint8Array(syn.bytes);
    new DataView(other.buffer).setUint16(0, 1);
    a.tcp.err(icmp({ type: 3, code: 3, errno: ERRNO.ECONNREFUSED, fatal: true }, { ...syn, bytes: other }));
    assert.equal(a.tcp.stats.icmpNoSock, 1);
    // too short a quote: ignored
    const short = icmp({ type: 3, code: 3, errno: ERRNO.ECONNREFUSED, fatal: true }, syn);
    short.l4Len = 4;
    a.tcp.err(short);
    assert.equal(tp.state, TCP_SYN_SENT);
    a.tcp.err(icmp({ type: 3, code: 3, errno: ERRNO.ECONNREFUSED, fatal: true }, syn));
    assert.equal(tp.state, TCP_CLOSE);
    assert.equal(tp.error, ERRNO.ECONNREFUSED);
    void b;
  });

  it('a passive open in the SYN queue is dropped silently only by errors that say the peer is gone (tcp_req_err)', () => {
    const { net, a, b } = twoHosts();
    const l = listen(b, 4, '0.0.0.0', 80);
    net.drop = (w) => w.from === 'b';
    const tp = a.tcp.socket(4);
    attach(tp);
    assert.equal(a.tcp.userConnect(tp, A('10.0.0.2'), 80), 0);
    net.run(() => l.synQueueLen === 1, 1_000_000);
    const synAck = net.log.find((w) => w.from === 'b')!;
    const out = b.ip.outputs;
    // port unreachable does not abort a request (IPv4 tcp_req_err)
    b.tcp.err(icmp({ type: 3, code: 3, errno: ERRNO.ECONNREFUSED, fatal: true }, synAck));
    assert.equal(l.synQueueLen, 1);
    // a quote with another sequence number is out of window
    const bad = new Uint8Array(synAck.bytes);
    new DataView(bad.buffer).setUint32(4, seg(synAck).seq + 1);
    b.tcp.err(icmp({ type: 3, code: 1, errno: ERRNO.EHOSTUNREACH }, { ...synAck, bytes: bad }));
    assert.equal(l.synQueueLen, 1);
    assert.equal(b.tcp.stats.outOfWindowIcmps, 1);
    // host unreachable drops it, without a word on the wire
    b.tcp.err(icmp({ type: 3, code: 1, errno: ERRNO.EHOSTUNREACH }, synAck));
    assert.equal(l.synQueueLen, 0);
    assert.equal(b.tcp.connectionCount, 0);
    assert.equal(b.ip.outputs, out);
    assert.equal(l.state, 10, 'the listener is untouched');
  });

  it('established: an ICMP error is soft, reported instead of ETIMEDOUT when the connection times out', () => {
    const { net, a, b } = twoHosts();
    const l = listen(b, 4, '0.0.0.0', 80);
    const [c, s] = connect(net, a, 4, '10.0.0.2', 80, l, b);
    net.drop = (w) => w.from === 'a' && seg(w).len > 0;
    assert.equal(a.tcp.userSend(c, pattern(1000), 0, 1000, false), 1000);
    const data = net.log[net.log.length - 1]!;
    a.tcp.err(icmp({ type: 3, code: 1, errno: ERRNO.EHOSTUNREACH, fatal: false }, data));
    assert.equal(c.state, TCP_ESTABLISHED, 'soft: the connection goes on');
    assert.equal(c.softError, ERRNO.EHOSTUNREACH);
    assert.equal(c.error, 0);
    net.run(() => c.state === TCP_CLOSE, 2_000_000_000);
    assert.equal(c.state, TCP_CLOSE);
    assert.equal(c.error, ERRNO.EHOSTUNREACH, 'the soft error, not ETIMEDOUT');
    void s;
  });

  for (const fam of [4, 6] as const) {
    it(`IPv${fam}: ${fam === 4 ? 'frag-needed' : 'packet-too-big'} lowers the MSS and resends what no longer fits; every byte arrives`, () => {
      const { net, a, b } = twoHosts();
      const l = listen(b, fam, fam === 4 ? '0.0.0.0' : '::', 80);
      const [c, s] = connect(net, a, fam, fam === 4 ? '10.0.0.2' : '2001:db8::2', 80, l, b);
      const hdr = fam === 4 ? 20 : 40;
      const pathMtu = 1280;
      let icmps = 0;
      // a router with a 1280-byte next hop: drops bigger packets and answers like Linux
      net.drop = (w) => {
        if (w.from !== 'a' || w.bytes.length + hdr <= pathMtu) return false;
        icmps++;
        const e = fam === 4
          ? icmp({ type: 3, code: 4, info: pathMtu, errno: ERRNO.EMSGSIZE, fatal: true }, w)
          : icmp({ type: 2, code: 0, info: pathMtu, errno: ERRNO.EMSGSIZE, fatal: true }, w);
        net.later(20, () => a.tcp.err(e));
        return true;
      };
      const data = pattern(300_000, 3);
      const got = transfer(net, a, c, s, data);
      assert.ok(Buffer.from(got).equals(Buffer.from(data)));
      assert.equal(c.mss, pathMtu - (fam === 4 ? 40 : 60) - TS);
      assert.equal(c.pmtu, pathMtu);
      assert.ok(icmps >= 1);
      assert.equal(a.tcp.stats.pmtuReduced, 1, 'later ICMPs for old segments change nothing');
      const late = net.log.filter((w) => w.from === 'a' && w.t > net.log.find((x) => x.bytes.length + hdr > pathMtu)!.t + 1000);
      assert.ok(late.every((w) => w.bytes.length + hdr <= pathMtu));
    });
  }

  it('MTU floors: IPv4 clamps to 552 (EMSGSIZE soft error), IPv6 ignores < 1280', () => {
    const { net, a, b } = twoHosts();
    const l4 = listen(b, 4, '0.0.0.0', 80);
    const [c4] = connect(net, a, 4, '10.0.0.2', 80, l4, b);
    net.drop = (w) => w.from === 'a' && seg(w).len > 0;
    a.tcp.userSend(c4, pattern(3000), 0, 3000, false);
    const d4 = net.log.filter((w) => w.from === 'a' && seg(w).len > 0).pop()!;
    a.tcp.err(icmp({ type: 3, code: 4, info: 300, errno: ERRNO.EMSGSIZE, fatal: true }, d4));
    assert.equal(c4.mss, 512 - TS);
    assert.equal(c4.softError, ERRNO.EMSGSIZE);

    const l6 = listen(b, 6, '::', 81);
    const [c6] = connect(net, a, 6, '2001:db8::2', 81, l6, b);
    a.tcp.userSend(c6, pattern(3000), 0, 3000, false);
    const d6 = net.log.filter((w) => w.from === 'a' && seg(w).len > 0 && w.dst.family === 6).pop()!;
    a.tcp.err(icmp({ type: 2, code: 0, info: 1000, errno: ERRNO.EMSGSIZE, fatal: true }, d6));
    assert.equal(c6.mss, 1440 - TS);
  });
});

describe('TCP path MTU during the handshake', () => {
  it('packet-too-big for the SYN lowers the MSS the connection starts with', () => {
    const { net, a, b } = twoHosts();
    const l = listen(b, 6, '::', 80);
    let held = true;
    net.drop = (w) => held && w.from === 'a';
    const tp = a.tcp.socket(6);
    attach(tp);
    assert.equal(a.tcp.userConnect(tp, A('2001:db8::2'), 80), 0);
    const syn = net.log[0]!;
    a.tcp.err(icmp({ type: 2, code: 0, info: 1280, errno: ERRNO.EMSGSIZE, fatal: true }, syn));
    assert.equal(tp.state, TCP_SYN_SENT);
    assert.equal(tp.pmtu, 1280);
    held = false;
    assert.ok(net.run(() => tp.state === TCP_ESTABLISHED, 10_000_000));
    assert.equal(tp.mss, 1220 - TS);
    assert.ok(net.run(() => l.acceptQueue.length === 1, 1_000_000));
  });
});

describe('TCP send under memory pressure', () => {
  it('never ENOBUFS: -EAGAIN with memWait, woken when memory frees, every byte delivered', () => {
    // host A has 256 pages (1 MiB); its 4 MiB send buffer cannot fill
    const { net, a, b } = twoHosts({ memA: 256 * 4096 });
    const l = listen(b, 4, '0.0.0.0', 80);
    const [c, s] = connect(net, a, 4, '10.0.0.2', 80, l, b);
    const o = c.sockOwner as unknown as { writable: number };
    const data = pattern(4 << 20, 9);
    let off = 0;
    let waits = 0;
    const got: number[] = [];
    let gotLen = 0;
    let ok = true;
    while (gotLen < data.length) {
      if (off < data.length) {
        const r = a.tcp.userSend(c, data, off, data.length - off, false);
        if (r > 0) off += r;
        else {
          assert.equal(r, -ERRNO.EAGAIN, 'no ENOBUFS');
          if (c.memWait) {
            waits++;
            assert.equal(tcpPoll(c) & POLLOUT, 0, 'no POLLOUT while waiting for memory');
          }
        }
      }
      const part = drain(s);
      for (let i = 0; i < part.length; i++) if (part[i] !== data[gotLen + i]) ok = false;
      gotLen += part.length;
      if (part.length === 0 && !net.sched.step()) break;
    }
    assert.ok(ok);
    assert.equal(gotLen, data.length);
    assert.ok(waits > 0 && a.tcp.stats.memWaits > 0, 'memory ran short');
    assert.ok(o.writable > 0);
    assert.equal(c.error, 0);
    void got;
  });
});

describe('TCP ports and disconnect', () => {
  it('bind conflicts through userBind; family checks; RFC 6056 ports differ per connection', () => {
    const { net, a, b } = twoHosts();
    const x = a.tcp.socket(4);
    assert.equal(a.tcp.userBind(x, A('10.0.0.1'), 7000), 0);
    assert.equal(a.tcp.userBind(a.tcp.socket(4), A('0.0.0.0'), 7000), -ERRNO.EADDRINUSE);
    assert.equal(a.tcp.userBind(a.tcp.socket(6), A('::'), 7000, { v6only: true }), 0);
    assert.equal(a.tcp.userBind(a.tcp.socket(4), A('2001:db8::1'), 7001), -ERRNO.EAFNOSUPPORT);
    assert.equal(a.tcp.userBind(a.tcp.socket(6), A('10.0.0.1'), 7001, { v6only: true }), -ERRNO.EINVAL);
    assert.equal(a.tcp.userBind(a.tcp.socket(4), A('10.9.9.9'), 7001), -ERRNO.EADDRNOTAVAIL);
    assert.equal(a.tcp.userBind(x, A('10.0.0.1'), 7002), -ERRNO.EINVAL, 'already bound');
    const l = listen(b, 4, '0.0.0.0', 80);
    const ports = new Set<number>();
    for (let i = 0; i < 8; i++) ports.add(connect(net, a, 4, '10.0.0.2', 80, l, b)[0].lport);
    assert.equal(ports.size, 8);
    const arr = [...ports];
    assert.ok(arr.every((p) => p >= 32768 && p <= 60999));
    assert.ok(!arr.every((p, i) => i === 0 || p === arr[i - 1]! + 1), 'not sequential');
  });

  it('userDisconnect: LISTEN → CLOSE reusable; ESTABLISHED → RST, ECONNRESET, can connect again', () => {
    const { net, a, b } = twoHosts();
    const l = listen(b, 4, '0.0.0.0', 80);
    assert.equal(b.tcp.userDisconnect(l), 0);
    assert.equal(l.state, TCP_CLOSE);
    assert.equal(l.lport, 80, 'an explicit port stays bound');
    assert.equal(b.tcp.userListen(l, 16), 0);
    const [c, s] = connect(net, a, 4, '10.0.0.2', 80, l, b);
    assert.equal(a.tcp.userDisconnect(c), 0);
    assert.equal(c.state, TCP_CLOSE);
    assert.equal(tcpSockError(c), ERRNO.ECONNRESET);
    const rst = net.log[net.log.length - 1]!;
    assert.equal(seg(rst).flags & TCP_RST, TCP_RST);
    net.run(() => s.state === TCP_CLOSE, 1_000_000);
    assert.equal(s.error, ERRNO.ECONNRESET);
    assert.equal(c.rport, 0);
    assert.equal(a.tcp.ports.size, 0, 'the auto-bound port went back');
    // and it connects again
    assert.equal(a.tcp.userConnect(c, A('10.0.0.2'), 80), 0);
    assert.ok(net.run(() => c.state === TCP_ESTABLISHED, 5_000_000));
    void TCP_ACK;
  });
});

describe('TCP forged and malformed input', () => {
  /** delivers a hand-built segment to `h` (checksum valid unless `badSum`) */
  function inject(h: FakeHost, src: string, dst: string, fields: { sport: number; dport: number; seq: number; flags: number; doff?: number; badSum?: boolean; bcast?: boolean }): void {
    const doff = fields.doff ?? 20;
    const bytes = new Uint8Array(20);
    const dv = new DataView(bytes.buffer);
    dv.setUint16(0, fields.sport);
    dv.setUint16(2, fields.dport);
    dv.setUint32(4, fields.seq);
    bytes[12] = (doff >> 2) << 4;
    bytes[13] = fields.flags;
    dv.setUint16(14, 65535);
    const s = A(src);
    const d = A(dst);
    dv.setUint16(16, csumFinish(csumPartial(bytes, dv, 0, bytes.length, pseudoHeaderSum(s, d, 6, bytes.length))) ^ (fields.badSum ? 1 : 0));
    const skb = h.rxSkbs.alloc(bytes.length, 0)!;
    const at = skbPut(skb, bytes.length);
    skb.buf.set(bytes, at);
    skb.ipSummed = CHECKSUM_NONE;
    const m = new RxMeta();
    m.family = s.family;
    m.src.set(s);
    m.dst.set(d);
    m.dev = h.ip.dev;
    m.linkBcast = !!fields.bcast;
    h.tcp.rcv(skb, m);
  }

  it('bad checksums, bad data offsets, link broadcasts and multicast-source SYNs make no socket and no reply', () => {
    const { net, b } = twoHosts();
    const l = listen(b, 6, '::', 80);
    const live = b.rxSkbs.live;
    const out = b.ip.outputs;
    inject(b, '2001:db8::1', '2001:db8::2', { sport: 1000, dport: 80, seq: 1, flags: TCP_SYN, badSum: true });
    assert.equal(b.tcp.stats.inCsumErrors, 1);
    inject(b, '10.0.0.1', '10.0.0.2', { sport: 1000, dport: 80, seq: 1, flags: TCP_SYN, doff: 16 });
    inject(b, '10.0.0.1', '10.0.0.2', { sport: 1000, dport: 80, seq: 1, flags: TCP_SYN, doff: 60 });
    assert.equal(b.tcp.stats.inErrs, 3);
    inject(b, '10.0.0.1', '10.0.0.2', { sport: 1000, dport: 80, seq: 1, flags: TCP_SYN, bcast: true });
    inject(b, 'ff02::1', '2001:db8::2', { sport: 1000, dport: 80, seq: 1, flags: TCP_SYN });
    inject(b, '224.0.0.1', '10.0.0.2', { sport: 1000, dport: 80, seq: 1, flags: TCP_SYN });
    assert.equal(b.ip.outputs, out, 'nothing was sent');
    assert.equal(l.synQueueLen + l.acceptQueue.length, 0);
    assert.equal(b.rxSkbs.live, live, 'every skb freed');
    // a valid SYN does make a child (so the cases above were refused for their defect)
    inject(b, '10.0.0.1', '10.0.0.2', { sport: 1000, dport: 80, seq: 1, flags: TCP_SYN });
    assert.equal(l.synQueueLen, 1);
    assert.equal(b.ip.outputs, out + 1, 'SYN-ACK');
    // no socket: RST (but never for a RST)
    inject(b, '2001:db8::1', '2001:db8::2', { sport: 1000, dport: 81, seq: 5, flags: TCP_ACK });
    assert.equal(b.ip.outputs, out + 2);
    inject(b, '2001:db8::1', '2001:db8::2', { sport: 1000, dport: 81, seq: 5, flags: TCP_RST });
    assert.equal(b.ip.outputs, out + 2);
    const rst = net.log[net.log.length - 1]!;
    assert.equal(rst.dst.toString(), '2001:db8::1');
    assert.equal(seg(rst).flags, TCP_RST);
    assert.equal(seg(rst).seq, 0, 'RST for an ACK takes seq = the ACK number (0 here)');
  });
});
