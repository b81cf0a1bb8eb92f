// Real-time mode: wall-clock timers for timeouts only, packet work driven by events. Two hosts
// over a user-implemented in-memory FrameLink pair: ping latency far below Node's 1 ms timer
// granularity, TCP both ways through a link that keeps refusing frames, no 0 ms timer created
// anywhere, randomness from node:crypto unless seeded, close() settles everything.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, FramePort, NcdevmemPattern, Network, type Host } from '../../src/index.js';
import { memLinkPair, type MemLinkEnd, type MemLinkOptions } from '../link/helpers-framelink.js';
import { bindDevmem, listen, patternSender, type Pair } from './helpers.js';

/** rejects when `p` takes longer than `ms` of wall-clock time (a bounded wait on an event) */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let h: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    h = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(h));
}

/** records the delay of every setTimeout created while `fn` runs */
async function watchTimers<T>(fn: () => Promise<T>): Promise<{ result: T; delays: number[] }> {
  const orig = globalThis.setTimeout;
  const delays: number[] = [];
  const wrapped = ((cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    delays.push(ms ?? 0);
    return orig(cb, ms, ...args);
  }) as unknown as typeof setTimeout;
  globalThis.setTimeout = wrapped;
  try {
    return { result: await fn(), delays };
  } finally {
    globalThis.setTimeout = orig;
  }
}

function realPair(opts: { seed?: number; link?: MemLinkOptions } = {}): { net: Network; a: Host; b: Host; ends: [MemLinkEnd, MemLinkEnd] } {
  const net = new Network({ mode: 'real', seed: opts.seed });
  const ends = memLinkPair(opts.link ?? {});
  const a = net.addHost('a');
  const b = net.addHost('b');
  a.addDevice('eth0', { link: ends[0] });
  b.addDevice('eth0', { link: ends[1] });
  a.ip.addAddress('eth0', '10.7.0.1/24');
  b.ip.addAddress('eth0', '10.7.0.2/24');
  return { net, a, b, ends };
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 9)) & 0xff;
  return b;
}

async function readAll(s: ReturnType<Host['socket']>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const c = await s.recv(65536);
    if (c.length === 0) return new Uint8Array(Buffer.concat(parts));
    parts.push(c);
  }
}

it('real-time mode over a simulated wire: wall-clock timers drive the same stack (ping and a small TCP transfer)', async () => {
  const net = new Network({ mode: 'real', seed: 2 });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0');
  const eb = b.addDevice('eth0');
  net.connect(ea, eb, { gbps: 10, delayUs: 50 });
  a.ip.addAddress('eth0', '10.1.0.1/24');
  b.ip.addAddress('eth0', '10.1.0.2/24');
  const pong = await a.ping('10.1.0.2');
  assert.ok(pong.rttUs >= 100, `rtt ${pong.rttUs} µs covers two 50 µs hops`);
  const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', 7000);
  ls.listen(4);
  const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
  const acc = ls.accept();
  await cs.connect('10.1.0.2', 7000);
  const conn = await acc;
  const data = pattern(200_000, 1);
  const sent = cs.send(data).then(() => cs.close());
  const got = await within(readAll(conn), 20_000, 'transfer');
  await sent;
  assert.deepEqual(got, data);
  conn.close();
  ls.close();
  await net.close();
});

it('ping over a user FrameLink pair: the median RTT is far below 1 ms, and no 0 ms timer is ever created', async (t) => {
  const { result: rtts, delays } = await watchTimers(async () => {
    const { net, a, ends } = realPair();
    const out: number[] = [];
    await within(a.ping('10.7.0.2', { timeoutUs: 2_000_000 }), 5000, 'first ping (ARP)');
    for (let i = 0; i < 200; i++) {
      const p = await within(a.ping('10.7.0.2', { timeoutUs: 2_000_000 }), 5000, `ping ${i}`);
      out.push(p.rttUs);
    }
    await net.close();
    assert.deepEqual(ends.map((e) => e.closeCalls), [1, 1]);
    return out;
  });
  const sorted = [...rtts].sort((x, y) => x - y);
  const median = sorted[sorted.length >> 1]!;
  t.diagnostic(`ping RTT over the in-memory FrameLink pair: median ${median} µs, p90 ${sorted[Math.floor(sorted.length * 0.9)]} µs, min ${sorted[0]} µs`);
  assert.ok(median < 500, `median RTT ${median} µs must be event-driven, far below timer granularity`);
  assert.ok(delays.every((d) => d >= 1), `0 ms timers created: ${delays.filter((d) => d < 1).length} of ${delays.length}`);
});

it('TCP both ways in real time through a link that refuses every third frame and delivers in batches; no 0 ms timer', async () => {
  const { result, delays } = await watchTimers(async () => {
    const { net, a, b, ends } = realPair({ link: { busyEvery: 3, async: true } });
    const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
    ls.bind('0.0.0.0', 7001);
    ls.listen(4);
    const acc = ls.accept();
    const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
    await within(cs.connect('10.7.0.2', 7001), 5000, 'connect');
    const ss = await acc;
    const toB = pattern(1_000_000, 2);
    const toA = pattern(400_000, 3);
    const [atB, atA] = await within(Promise.all([
      readAll(ss), readAll(cs),
      cs.send(toB).then(() => cs.shutdown(C.SHUT_WR)),
      ss.send(toA).then(() => ss.shutdown(C.SHUT_WR)),
    ]), 30_000, 'exchange');
    assert.deepEqual(atB, toB);
    assert.deepEqual(atA, toA);
    const ports = net.links as FramePort[];
    const st = ports.map((p) => ({ busy: p.stats.txBusy, stop: p.dev.txQueues[0]!.stats.txStop, wake: p.dev.txQueues[0]!.stats.txWake }));
    cs.close();
    ss.close();
    ls.close();
    await net.close();
    assert.ok(ends.every((e) => e.refused > 0));
    return st;
  });
  for (const s of result) {
    assert.ok(s.busy > 0 && s.stop > 0, 'the link did push back');
    assert.ok(s.wake === s.stop || s.wake === s.stop - 1, 'every stop but possibly the last was followed by a wake');
  }
  assert.ok(delays.every((d) => d >= 1), `0 ms timers created: ${delays.filter((d) => d < 1).length}`);
});

/** the source port and ISN of the first SYN host A sends over its link */
async function firstSyn(seed?: number): Promise<{ port: number; isn: number; seeded: boolean }> {
  const { net, a, b, ends } = realPair({ seed, link: { record: true } });
  const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', 7002);
  ls.listen(1);
  const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
  await within(cs.connect('10.7.0.2', 7002), 5000, 'connect');
  const syn = ends[0].sent.find((f) => {
    const b = f.bytes;
    return b.length >= 54 && b[12] === 0x08 && b[13] === 0x00 && b[23] === 6 && (b[47]! & 0x12) === 0x02;
  });
  assert.ok(syn, 'a SYN went out');
  const dv = new DataView(syn.bytes.buffer);
  const r = { port: dv.getUint16(34), isn: dv.getUint32(38), seeded: net.seeded };
  cs.close();
  ls.close();
  await net.close();
  return r;
}

it('real mode: without a seed ISNs and ephemeral ports come from node:crypto (differ per run); with a seed the choice repeats', async () => {
  const un = [await firstSyn(), await firstSyn(), await firstSyn()];
  assert.ok(un.every((s) => !s.seeded));
  assert.ok(new Set(un.map((s) => s.port)).size > 1 || new Set(un.map((s) => s.isn)).size > 1, 'unseeded runs differ');
  assert.ok(new Set(un.map((s) => s.isn)).size === 3, 'three unseeded ISNs are distinct');
  const s1 = await firstSyn(99);
  const s2 = await firstSyn(99);
  assert.ok(s1.seeded && s2.seeded);
  assert.equal(s1.port, s2.port, 'a given seed picks the same ephemeral port');
});

it('devmem over a user FrameLink in real time: GSO super-frames from the link land in device memory, validated there, host reads 0', async () => {
  for (const offloads of [{}, { txCsum: true, tso4: true, tso6: true, rxGso: true }]) {
    const net = new Network({ mode: 'real' });
    const ends = memLinkPair({ offloads, async: true, record: false });
    const a = net.addHost('a');
    const b = net.addHost('b');
    const ea = a.addDevice('eth0', { link: ends[0], rxQueues: 4 });
    const eb = b.addDevice('eth0', { link: ends[1], rxQueues: 4 });
    a.ip.addAddress('eth0', '10.0.0.1/24');
    b.ip.addAddress('eth0', '10.0.0.2/24');
    const p: Pair = { net, a, b, ea, eb, devq: 3 };
    const { dmabuf, nl, id } = await bindDevmem(p, 8 << 20);
    const ls = listen(p);
    const size = 2 << 20;
    const sender = patternSender(p, size);
    const conn = await within(ls.accept(), 5000, 'accept');
    const pat = new NcdevmemPattern(7);
    let bytes = 0;
    let bad = 0;
    await within((async () => {
      for (;;) {
        const m = await conn.recvmsg({ iovLen: 800 * 1024, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM });
        if (m.length === 0) return;
        for (const c of m.cmsgs) {
          assert.equal(c.kind, 'dmabuf', 'every byte in device memory');
          if (c.kind !== 'dmabuf') continue;
          assert.equal(c.dmabufId, id, 'flow steering error');
          bad += dmabuf.validate(c.fragOffset, c.fragSize, pat);
          conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: c.fragToken, tokenCount: 1 }]);
        }
        bytes += m.length;
      }
    })(), 30_000, 'devmem receive');
    await sender;
    assert.equal(bytes, size);
    assert.equal(bad, 0);
    assert.equal(dmabuf.stats.hostBytesRead, 0);
    const ports = net.links as FramePort[];
    if (offloads.tso4) assert.ok(ports[0]!.stats.txGso > 0, 'the sender handed super-frames to its link');
    const q = eb.rxQueues[3]!.stats;
    assert.ok(q.rxPackets > 0 && q.rxAllocFail === 0);
    conn.close();
    ls.close();
    nl.close();
    await net.close();
  }
});

it('loopback in real time: TCP over 127.0.0.1 runs on setImmediate turns (RTT far below 1 ms, no 0 ms timer)', async (t) => {
  const { result: rtts, delays } = await watchTimers(async () => {
    const net = new Network({ mode: 'real' });
    const h = net.addHost('h');
    const ls = h.socket(C.AF_INET, C.SOCK_STREAM);
    ls.bind('127.0.0.1', 7003);
    ls.listen(1);
    const acc = ls.accept();
    const cs = h.socket(C.AF_INET, C.SOCK_STREAM);
    await within(cs.connect('127.0.0.1', 7003), 5000, 'connect');
    const ss = await acc;
    const out: number[] = [];
    const one = new Uint8Array([42]);
    for (let i = 0; i < 100; i++) {
      const t0 = process.hrtime.bigint();
      await cs.send(one);
      const got = await within(ss.recv(1), 5000, 'echo request');
      await ss.send(got);
      const back = await within(cs.recv(1), 5000, 'echo reply');
      assert.deepEqual(back, one);
      out.push(Number((process.hrtime.bigint() - t0) / 1000n));
    }
    cs.close();
    ss.close();
    ls.close();
    await net.close();
    return out;
  });
  const sorted = [...rtts].sort((x, y) => x - y);
  const median = sorted[sorted.length >> 1]!;
  t.diagnostic(`loopback TCP echo RTT: median ${median} µs`);
  assert.ok(median < 1000, `median ${median} µs: a 0 ms timer per hop would make it several ms`);
  assert.ok(delays.every((d) => d >= 1), `0 ms timers created: ${delays.filter((d) => d < 1).length}`);
});
