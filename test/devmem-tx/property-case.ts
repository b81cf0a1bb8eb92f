/**
 * One run of the devmem TX property (property.test.ts): a world of two hosts, a TX binding and
 * a connection, then the actions, then the checks. Separate so that a counterexample can be
 * replayed by hand (`runCase(seed, loss, actions)`).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, Network } from '../../src/index.js';
import { TcpSockFile } from '../../src/socket/index.js';
import { devSend, eq, tcpFd, v4, type TxWorld } from './helpers.js';

export type Action =
  | { t: 'send'; pages: number; off: number; len: number; more: boolean }
  | { t: 'run'; us: number }
  | { t: 'recv' }
  | { t: 'close'; rst: boolean }
  | { t: 'unbind' };

export const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('send' as const), pages: fc.integer({ min: 1, max: 6 }), off: fc.integer({ min: 0, max: 4095 }), len: fc.integer({ min: 1, max: 24_000 }), more: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('run' as const), us: fc.integer({ min: 1, max: 40_000 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('recv' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), rst: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unbind' as const) }) },
);

const PAGES = 512;
const PAGE = 4096;

/** the byte at dma-buf offset `o` (what fill() wrote) */
function byteAt(o: number): number {
  return (o * 131 + (o >>> 12) * 7) & 0xff;
}

interface World extends TxWorld {
  cfd: number;
  sfd: number;
}

async function world(seed: number, loss: number): Promise<World> {
  const net = new Network({ seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 2, mtu: 1500 });
  const eb = b.addDevice('eth0', { rxQueues: 2, mtu: 1500 });
  net.connect(ea, eb, { gbps: 10, delayUs: 20, loss });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  const dmabuf = a.allocDeviceMemory(PAGES * PAGE);
  const content = new Uint8Array(PAGES * PAGE);
  for (let i = 0; i < content.length; i++) content[i] = byteAt(i);
  dmabuf.writeFromHost(0, content);
  const nl = a.netlink();
  const { id } = await nl.netdev.bindTx({ ifindex: ea.ifindex, fd: dmabuf.fd });
  const lfd = tcpFd(b);
  eq(b.sys.bind(lfd, v4('0.0.0.0', 5000)), 0);
  eq(b.sys.listen(lfd, 4), 0);
  const cfd = tcpFd(a);
  eq(a.sys.setsockopt(cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
  eq(a.sys.connect(cfd, v4('10.0.0.2', 5000)), 'EINPROGRESS');
  // SYNs may be lost: up to a minute of handshake retries
  for (let i = 0; i < 6000; i++) {
    net.runFor(10_000);
    const s = b.sys.accept4(lfd, null, C.SOCK_NONBLOCK);
    if (s >= 0) {
      b.sys.close(lfd);
      return { net, a, b, ea, dmabuf, nl, id, cfd, sfd: s };
    }
  }
  throw new Error('no connection');
}

/** what one case did (the suite checks that the runs, together, exercised each part) */
export interface CaseStats {
  sends: number;
  bytes: number;
  completions: number;
  retransSegs: number;
  unboundWithBytesInFlight: boolean;
  rst: boolean;
}

export async function runCase(seed: number, loss: number, actions: Action[]): Promise<CaseStats> {
  const stats: CaseStats = { sends: 0, bytes: 0, completions: 0, retransSegs: 0, unboundWithBytesInFlight: false, rst: false };
  const w = await world(seed, loss);
  const f = w.a.sys.sock(w.cfd);
  assert.ok(f instanceof TcpSockFile);
  const tp = f.tp;
  const fb = w.b.sys.sock(w.sfd);
  assert.ok(fb instanceof TcpSockFile);
  const btp = fb.tp;
  const binding = w.a.kernel.bindings.lookup(w.id)!;
  const niovs = [...binding.txVec!];
  /** send id → end sequence number of its bytes */
  const sendEnd = new Map<number, number>();
  /** send id → the dma-buf pages it used (each send uses pages no other send uses) */
  const sendPages = new Map<number, [number, number]>();
  const done = new Set<number>();
  let torn = false;
  f.zc.errq.zcListener = (lo, hi) => {
    for (let id = lo; ; id = (id + 1) >>> 0) {
      assert.ok(!done.has(id), `id ${id} completed twice`);
      assert.ok(sendEnd.has(id), `id ${id} completed but never handed out`);
      const end = sendEnd.get(id)!;
      // the peer has the bytes (its rcv_nxt is past them: the ACK that frees them is on its way
      // or being processed), or the queue was purged (teardown)
      const acked = ((btp.rcvNxt - end) | 0) >= 0;
      assert.ok(acked || torn || tp.stateName === 'CLOSE', `id ${id} completed before its ACK`);
      // after the last use of its frags: no skb, record or NIC frame references its net_iovs
      const [p0, np] = sendPages.get(id)!;
      for (let pg = p0; pg < p0 + np; pg++) assert.equal(w.a.kernel.mem.refCount(niovs[pg]!), 0, `id ${id}: net_iov of page ${pg} still referenced at its completion`);
      done.add(id);
      stats.completions++;
      if (id === hi) break;
    }
  };
  const expected: number[] = [];
  const got: number[] = [];
  let nextPage = 0;
  let closed = false;
  let unbound = false;
  const buf = new Uint8Array(65536);
  const recv = (): void => {
    for (;;) {
      const n = w.b.sys.recv(w.sfd, buf);
      if (n <= 0) return;
      for (let i = 0; i < n; i++) got.push(buf[i]!);
    }
  };
  for (const act of actions) {
    switch (act.t) {
      case 'send': {
        if (closed || nextPage + act.pages > PAGES) break;
        const base = nextPage * PAGE + act.off;
        const len = Math.min(act.len, act.pages * PAGE - act.off);
        nextPage += act.pages;
        // two iovecs when long enough: a split at an odd place
        const cut = len > 10 ? Math.floor(len / 3) : len;
        const pairs: [number, number][] = cut < len ? [[base, cut], [base + cut, len - cut]] : [[base, len]];
        const key: number = f.zc.zckey;
        const r = devSend(w.a, w.cfd, w.id, pairs, C.MSG_ZEROCOPY | (act.more ? C.MSG_MORE : 0));
        if (unbound) {
          eq(r, 'EINVAL', 'after unbind');
          break;
        }
        if (r > 0) {
          assert.equal(f.zc.zckey, (key + 1) >>> 0, 'one id per send');
          sendEnd.set(key, tp.sendBuf.endSeq);
          sendPages.set(key, [nextPage - act.pages, act.pages]);
          stats.sends++;
          stats.bytes += r;
          for (let i = 0; i < r; i++) expected.push(byteAt(base + i));
        } else {
          assert.ok(r === -11, `send: ${r}`);
          assert.equal(f.zc.zckey, key, 'an aborted send gives its id back');
        }
        break;
      }
      case 'run':
        w.net.runFor(act.us);
        break;
      case 'recv':
        recv();
        break;
      case 'close':
        if (closed) break;
        closed = true;
        if (act.rst) {
          torn = true;
          stats.rst = true;
          const lg = new Uint8Array(8);
          new DataView(lg.buffer).setInt32(0, 1, true);
          eq(w.a.sys.setsockopt(w.cfd, C.SOL_SOCKET, C.SO_LINGER, lg), 0);
        }
        eq(w.a.sys.close(w.cfd), 0);
        break;
      case 'unbind':
        if (unbound) break;
        unbound = true;
        if (((tp.sendBuf.endSeq - tp.sndUna) | 0) > 0) stats.unboundWithBytesInFlight = true;
        w.nl.close();
        break;
    }
  }
  if (!closed) {
    // drain, then close gracefully
    for (let i = 0; i < 400 && expected.length > got.length; i++) {
      w.net.runFor(20_000);
      recv();
    }
    eq(w.a.sys.close(w.cfd), 0);
  }
  // let retransmissions, FIN and timeouts run out; keep reading
  for (let i = 0; i < 300; i++) {
    w.net.runFor(50_000);
    recv();
  }
  w.b.sys.close(w.sfd);
  // a lossy wire may leave an orphan retransmitting for long: tear it down (purge)
  torn = true;
  w.net.runFor(10_000_000);
  // received bytes are a prefix of what was sent
  assert.ok(got.length <= expected.length, `received ${got.length} > sent ${expected.length}`);
  for (let i = 0; i < got.length; i++) if (got[i] !== expected[i]) assert.fail(`byte ${i}: ${got[i]} != ${expected[i]}`);
  if (!unbound) w.nl.close();
  await w.net.close();
  // every id completed exactly once, nothing left alive
  for (const id of sendEnd.keys()) assert.ok(done.has(id), `id ${id} never completed`);
  assert.equal(f.zc.live, 0, 'live notifications');
  for (const ref of niovs) assert.equal(w.a.kernel.mem.refCount(ref), 0, `net_iov ${ref} still referenced`);
  assert.ok(binding.freed, 'binding freed');
  assert.equal(w.a.kernel.bindings.size, 0);
  stats.retransSegs = tp.stats.retransSegs;
  return stats;
}

