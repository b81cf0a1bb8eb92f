// VxlanLink over loopback, both transports (libc through koffi, node:dgram): byte-exact
// encapsulation, Linux's receive checks, backpressure and drain, seeded loss, close, IPv6 outer,
// option checks. (The 'ffi' transport's EAGAIN → busy → drain needs a namespace: see
// test/interop/vxlan-ffi.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { VxlanLink, type VxlanLinkOptions } from '../../src/link/vxlan/index.js';
import {
  VXLAN_BAD_FLAGS, VXLAN_BAD_RESERVED, VXLAN_BAD_SHORT, vxlanCheck, vxlanWriteHeader,
} from '../../src/link/vxlan/header.js';
import { SendRing } from '../../src/link/vxlan/send-ring.js';
import { ffiUnavailable } from '../../src/link/vxlan/udp-ffi.js';
import { RawPeer, StubReceiver, testFrame, vxlanHeader } from './vxlan-helpers.js';

const LO4 = '127.0.0.1';
const LO6 = '::1';
/** the transports every shared test runs over; 'ffi' needs koffi, which the package depends on */
const IOS = ['ffi', 'dgram'] as const;

/** a link on an ephemeral port whose remote is a raw UDP peer */
async function linkToPeer(extra: Partial<VxlanLinkOptions> = {}, family: 4 | 6 = 4): Promise<{ link: VxlanLink; peer: RawPeer; rx: StubReceiver }> {
  const lo = family === 4 ? LO4 : LO6;
  const peer = await RawPeer.open(family === 4 ? 'udp4' : 'udp6', lo);
  const link = await VxlanLink.open({ local: { address: lo, port: 0 }, remote: { address: lo, port: peer.port }, vni: 42, ...extra });
  const rx = new StubReceiver();
  link.attach(rx);
  return { link, peer, rx };
}

test('header: write and check are byte-exact and follow vxlan_rcv', () => {
  const b = new Uint8Array(8 + 14);
  vxlanWriteHeader(b, 0, 0xabcdef);
  assert.deepEqual([...b.subarray(0, 8)], [0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0]);
  assert.equal(vxlanCheck(b, b.length), 0xabcdef);
  assert.equal(vxlanCheck(b, 8 + 13), VXLAN_BAD_SHORT);
  for (const [i, v, want] of [[0, 0x00, VXLAN_BAD_FLAGS], [0, 0x0c, VXLAN_BAD_FLAGS], [0, 0x88, VXLAN_BAD_FLAGS],
    [1, 1, VXLAN_BAD_RESERVED], [3, 0x80, VXLAN_BAD_RESERVED], [7, 1, VXLAN_BAD_RESERVED]] as const) {
    const c = Uint8Array.from(b);
    c[i] = v;
    assert.equal(vxlanCheck(c, c.length), want, `byte ${i} = ${v}`);
  }
  vxlanWriteHeader(b, 0, 0);
  assert.equal(vxlanCheck(b, b.length), 0);
});

test('send ring: FIFO reservations never overlap live bytes, wrap, and come back to empty', () => {
  const r = new SendRing(100, 8);
  const live: Array<[number, number]> = [];
  const overlaps = (o: number, n: number): boolean => live.some(([a, m]) => o < a + m && a < o + n);
  let seed = 12345;
  for (let step = 0; step < 5000; step++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    if ((seed & 3) !== 0 || live.length === 0) {
      const n = 1 + (seed >>> 8) % 40;
      const o = r.reserve(n);
      if (o >= 0) {
        assert.ok(o + n <= 100, 'inside the arena');
        assert.ok(!overlaps(o, n), `reservation [${o}, ${o + n}) overlaps a live one`);
        live.push([o, n]);
      } else {
        assert.ok(live.length > 0, 'an empty ring takes any datagram that fits');
      }
    } else {
      assert.equal(r.release(), true);
      live.shift();
    }
    assert.equal(r.inflight, live.length);
  }
  while (live.length) {
    r.release();
    live.shift();
  }
  assert.equal(r.release(), false);
  assert.equal(r.usedBytes, 0);
  assert.equal(r.reserve(100), 0, 'empty again: the whole arena');
  assert.equal(r.reserve(1), -1, 'full');
  assert.equal(r.reserve(101), -1);
});

for (const io of IOS) test(`vxlan ${io}: frames leave byte-exact (header + frame) and come in from the remote`, async () => {
  const { link, peer, rx } = await linkToPeer({ io, vni: 0x123456 });
  try {
    assert.equal(link.mtu, 1450);
    const f1 = testFrame(100, 1);
    const f2 = testFrame(1450, 2); // full MTU
    assert.equal(link.send(f1), true);
    f1.fill(0); // borrowed only for the call
    assert.equal(link.send(f2), true);
    await peer.until(2);
    assert.deepEqual([...peer.got[0]!], [...vxlanHeader(0x123456), ...testFrame(100, 1)]);
    assert.deepEqual([...peer.got[1]!], [...vxlanHeader(0x123456), ...f2]);
    const f3 = testFrame(60, 3);
    await peer.send(Buffer.from([...vxlanHeader(0x123456), ...f3]), link.localPort, LO4);
    await rx.until(() => rx.frames.length === 1);
    assert.deepEqual([...rx.frames[0]!], [...f3]);
    assert.equal(link.stats.txPackets, 2);
    assert.equal(link.stats.txBytes, f1.length + f2.length);
    assert.equal(link.stats.rxPackets, 1);
    assert.equal(link.stats.rxBytes, f3.length);
    assert.equal(link.inflight, 0);
  } finally {
    await link.close();
    await peer.close();
  }
});

for (const io of IOS) test(`vxlan ${io}: malformed, other-VNI and foreign datagrams are counted and dropped`, async () => {
  const { link, peer, rx } = await linkToPeer({ io, vni: 42 });
  const stranger = await RawPeer.open('udp4', '127.0.0.2');
  try {
    const f = testFrame(50, 9);
    const good = Buffer.from([...vxlanHeader(42), ...f]);
    const bad: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from(vxlanHeader(42)), // header only
      Buffer.from([...vxlanHeader(42), ...f.subarray(0, 13)]), // inner shorter than Ethernet
      Buffer.from([0x00, 0, 0, 0, 0, 0, 42, 0, ...f]), // I clear
      Buffer.from([0x0c, 0, 0, 0, 0, 0, 42, 0, ...f]), // unknown flag
      Buffer.from([0x08, 0, 1, 0, 0, 0, 42, 0, ...f]), // reserved
      Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 7, ...f]), // reserved after VNI
      Buffer.from([...vxlanHeader(43), ...f]), // other VNI
    ];
    for (const b of bad) await peer.send(b, link.localPort, LO4);
    await stranger.send(good, link.localPort, LO4); // right VNI, wrong source
    await peer.send(good, link.localPort, LO4);
    await rx.until(() => rx.frames.length === 1);
    // loopback keeps order per socket pair; the stranger's datagram was sent before the good one
    await rx.until(() => link.stats.rxForeignSource === 1);
    assert.deepEqual([...rx.frames[0]!], [...f]);
    const s = link.stats;
    assert.equal(s.rxShort, 3);
    assert.equal(s.rxBadFlags, 2);
    assert.equal(s.rxBadReserved, 2);
    assert.equal(s.rxOtherVni, 1);
    assert.equal(s.rxForeignSource, 1);
    assert.equal(s.rxPackets, 1);
    assert.equal(rx.errors.length, 0);
  } finally {
    await link.close();
    await peer.close();
    await stranger.close();
  }
});

for (const io of IOS) test(`vxlan ${io}: seeded random datagrams are each counted exactly once, never thrown, and only valid ones delivered`, async () => {
  const { link, peer, rx } = await linkToPeer({ io, vni: 0x0a0b0c });
  try {
    let x = 99;
    const rnd = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    let valid = 0;
    const N = 400;
    for (let i = 0; i < N; i++) {
      const len = rnd(4) === 0 ? rnd(24) : 8 + 14 + rnd(200);
      const d = new Uint8Array(len);
      for (let j = 0; j < len; j++) d[j] = rnd(256);
      // mostly near-valid headers, so that every check is reached
      if (len >= 8 && rnd(3) !== 0) {
        d.set(vxlanHeader(rnd(4) === 0 ? 0x0a0b0d : 0x0a0b0c), 0);
        if (rnd(5) === 0) d[rnd(8)] ^= 1 << rnd(8);
      }
      // an independent model of the receive checks
      if (len >= 22 && d[0] === 8 && (d[1]! | d[2]! | d[3]! | d[7]!) === 0 && d[4] === 0x0a && d[5] === 0x0b && d[6] === 0x0c) valid++;
      await peer.send(d, link.localPort, LO4);
    }
    const s = link.stats;
    const counted = (): number => s.rxPackets + s.rxShort + s.rxBadFlags + s.rxBadReserved + s.rxOtherVni + s.rxForeignSource;
    await rx.until(() => counted() === N, 5000, `${N} datagrams counted`);
    assert.equal(s.rxPackets, valid);
    assert.equal(rx.frames.length, valid);
    assert.ok(s.rxShort > 0 && s.rxBadFlags > 0 && s.rxBadReserved > 0 && s.rxOtherVni > 0, 'every drop reason was reached');
    assert.equal(rx.errors.length, 0);
  } finally {
    await link.close();
    await peer.close();
  }
});

for (const io of IOS) test(`vxlan ${io}: anySource accepts a datagram from another address`, async () => {
  const { link, peer, rx } = await linkToPeer({ io, anySource: true });
  const stranger = await RawPeer.open('udp4', '127.0.0.2');
  try {
    await stranger.send(Buffer.from([...vxlanHeader(42), ...testFrame(20, 4)]), link.localPort, LO4);
    await rx.until(() => rx.frames.length === 1);
    assert.equal(link.stats.rxForeignSource, 0);
  } finally {
    await link.close();
    await peer.close();
    await stranger.close();
  }
});

for (const io of IOS) test(`vxlan ${io}: a frame over the MTU or under an Ethernet header is dropped and counted, not sent`, async () => {
  const { link, peer } = await linkToPeer({ io, mtu: 1000 });
  try {
    assert.equal(link.send(testFrame(1000 + 4 + 1, 1)), true, 'taken (and dropped), not busy');
    assert.equal(link.send(new Uint8Array(13)), true);
    assert.equal(link.stats.txBadLength, 2);
    assert.equal(link.send(testFrame(1000 + 4, 2)), true, 'MTU plus a VLAN tag fits');
    await peer.until(1);
    assert.equal(peer.got.length, 1);
    assert.equal(peer.got[0]!.length, 8 + 14 + 1004);
    assert.equal(link.stats.txPackets, 1);
  } finally {
    await link.close();
    await peer.close();
  }
});

test('vxlan dgram: send reports busy when the in-flight bound is hit, drains once, and loses nothing it took', async () => {
  const { link, peer, rx } = await linkToPeer({ io: 'dgram', maxInflight: 4, sendRingBytes: 1 });
  try {
    let taken = 0;
    let busyAt = -1;
    for (let i = 0; i < 20; i++) {
      if (link.send(testFrame(200, i))) taken++;
      else {
        busyAt = i;
        break;
      }
    }
    assert.equal(taken, 4, 'four datagrams in flight at most');
    assert.equal(busyAt, 4);
    assert.equal(link.send(testFrame(200, 99)), false, 'still busy until drained');
    assert.equal(link.stats.txBusy, 2);
    await rx.until(() => rx.drains === 1, 5000, 'drain');
    await peer.until(4);
    for (let i = 0; i < 4; i++) assert.deepEqual([...peer.got[i]!.subarray(8)], [...testFrame(200, i)]);
    // after the drain the link takes frames again
    assert.equal(link.send(testFrame(200, 4)), true);
    await peer.until(5);
    assert.deepEqual([...peer.got[4]!.subarray(8)], [...testFrame(200, 4)]);
    assert.equal(rx.drains, 1, 'one drain per busy period');
  } finally {
    await link.close();
    await peer.close();
  }
});

test('vxlan dgram: send reports busy when libuv\'s send queue is above the bound', async () => {
  // over loopback the kernel never pushes back, so libuv never queues; Node's
  // --test-udp-no-try-send makes every send go through libuv's queue, in a child process
  const mod = new URL('../../src/link/vxlan/index.js', import.meta.url).href;
  const script = `
    import dgram from 'node:dgram';
    import { VxlanLink } from ${JSON.stringify(mod)};
    const peer = dgram.createSocket('udp4'); let got = 0; peer.on('message', () => got++);
    await new Promise((r) => peer.bind(0, '127.0.0.1', r));
    const link = await VxlanLink.open({ local: { address: '127.0.0.1', port: 0 }, remote: { address: '127.0.0.1', port: peer.address().port }, vni: 5, sendQueueBytes: 100, io: 'dgram' });
    let drains = 0; const out = {};
    link.attach({ receive() {}, flush() {}, error() {}, drain() { drains++; } });
    const frame = new Uint8Array(200);
    let taken = 0; while (taken < 50 && link.send(frame)) taken++;
    out.taken = taken; out.busy = link.stats.txBusy; out.inflight = link.inflight;
    await new Promise((r) => { const t = setInterval(() => { if (drains > 0 && got >= taken) { clearInterval(t); r(); } }, 5); setTimeout(r, 4000).unref(); });
    out.drains = drains; out.got = got; out.inflightAfter = link.inflight;
    out.again = link.send(frame);
    await link.close(); peer.close();
    console.log(JSON.stringify(out));`;
  const { execFileSync } = await import('node:child_process');
  const res = JSON.parse(execFileSync(process.execPath, ['--test-udp-no-try-send', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 })) as Record<string, number | boolean>;
  assert.equal(res.taken, 1, 'the first datagram queued in libuv (208 bytes > 100) makes the link busy');
  assert.equal(res.busy, 1);
  assert.equal(res.inflight, 1);
  assert.equal(res.drains, 1, 'drained once the queue emptied');
  assert.equal(res.got, 1);
  assert.equal(res.inflightAfter, 0);
  assert.equal(res.again, true);
});

for (const io of IOS) test(`vxlan ${io}: seeded loss drops the same frames for the same seed, in each direction on its own`, async () => {
  async function run(seed: number): Promise<{ tx: number[]; rx: number[] }> {
    const { link, peer, rx } = await linkToPeer({ io, loss: { tx: 0.3, rx: 0.2 }, seed });
    try {
      for (let i = 0; i < 200; i++) {
        const f = testFrame(4, i);
        f[14] = i; // frame number
        assert.equal(link.send(f), true);
      }
      for (let i = 0; i < 200; i++) {
        const f = testFrame(4, i);
        f[14] = i;
        await peer.send(Buffer.from([...vxlanHeader(42), ...f]), link.localPort, LO4);
      }
      await rx.until(() => link.stats.rxPackets + link.stats.rxLossDrops === 200);
      await peer.until(200 - link.stats.txLossDrops);
      assert.equal(link.stats.txPackets + link.stats.txLossDrops, 200);
      return { tx: peer.got.map((g) => g[8 + 14]!), rx: rx.frames.map((f) => f[14]!) };
    } finally {
      await link.close();
      await peer.close();
    }
  }
  const a = await run(7);
  const b = await run(7);
  const c = await run(8);
  assert.deepEqual(a, b, 'same seed, same survivors');
  assert.notDeepEqual(a.tx, c.tx);
  assert.ok(a.tx.length > 100 && a.tx.length < 180, `tx survivors ${a.tx.length} of 200 at 30% loss`);
  assert.ok(a.rx.length > 120 && a.rx.length < 190, `rx survivors ${a.rx.length} of 200 at 20% loss`);
});

for (const io of IOS) test(`vxlan ${io}: IPv6 outer over ::1, link to link (the other link on the other transport)`, async () => {
  const other = io === 'ffi' ? 'dgram' : 'ffi';
  const spare = await RawPeer.open('udp6', LO6);
  const portB = spare.port;
  const a = await VxlanLink.open({ local: { address: '0:0:0:0:0:0:0:1', port: 0 }, remote: { address: LO6, port: portB }, vni: 7, io });
  await spare.close();
  const b = await VxlanLink.open({ local: { address: LO6, port: portB }, remote: { address: LO6, port: a.localPort }, vni: 7, io: other });
  const ra = new StubReceiver();
  const rb = new StubReceiver();
  a.attach(ra);
  b.attach(rb);
  try {
    assert.equal(a.family, 6);
    assert.equal(a.io, io);
    assert.equal(b.io, other);
    assert.equal(a.mtu, 1430);
    assert.equal(a.localAddress, '::1');
    for (let i = 0; i < 10; i++) assert.equal(a.send(testFrame(1430, i)), true);
    assert.equal(b.send(testFrame(30, 77)), true);
    await rb.until(() => rb.frames.length === 10);
    await ra.until(() => ra.frames.length === 1);
    for (let i = 0; i < 10; i++) assert.deepEqual([...rb.frames[i]!], [...testFrame(1430, i)]);
    assert.deepEqual([...ra.frames[0]!], [...testFrame(30, 77)]);
    assert.equal(a.stats.rxForeignSource + b.stats.rxForeignSource, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

for (const io of IOS) test(`vxlan ${io}: connectTx false (always, with ffi) sends from the bound port`, async () => {
  const { link, peer } = await linkToPeer({ io, connectTx: io === 'ffi' });
  try {
    const seen: number[] = [];
    peer.sock.on('message', (_m, r) => seen.push(r.port));
    link.send(testFrame(10, 1));
    await peer.until(1);
    assert.deepEqual(seen, [link.localPort]);
  } finally {
    await link.close();
    await peer.close();
  }
});

for (const io of IOS) test(`vxlan ${io}: close stops delivery, frees the port, and is idempotent`, async () => {
  const { link, peer, rx } = await linkToPeer({ io });
  const port = link.localPort;
  await link.close();
  await link.close();
  assert.equal(link.send(testFrame(10, 1)), true);
  assert.equal(link.stats.txAfterClose, 1, 'sends after close are dropped');
  assert.equal(link.stats.txPackets, 0);
  link.receiveDatagram(Buffer.from([...vxlanHeader(42), ...testFrame(10, 1)]), LO4);
  assert.equal(rx.frames.length, 0);
  assert.equal(link.stats.rxNoReceiver, 1);
  // the port is free again
  const again = await RawPeer.open('udp4', LO4, port);
  await again.close();
  await peer.close();
});

for (const io of IOS) test(`vxlan ${io}: frames before attach are counted, not delivered`, async () => {
  const peer = await RawPeer.open('udp4', LO4);
  const link = await VxlanLink.open({ local: { address: LO4, port: 0 }, remote: { address: LO4, port: peer.port }, vni: 1, io });
  try {
    link.receiveDatagram(Buffer.from([...vxlanHeader(1), ...testFrame(10, 1)]), LO4);
    assert.equal(link.stats.rxNoReceiver, 1);
    const rx = new StubReceiver();
    link.attach(rx);
    assert.throws(() => link.attach(rx), { code: 'EBUSY' });
  } finally {
    await link.close();
    await peer.close();
  }
});

test('vxlan: options are checked (EINVAL); a port in use rejects and leaks no socket', async () => {
  const base = { local: { address: LO4, port: 0 }, remote: { address: LO4 }, vni: 1 };
  await assert.rejects(VxlanLink.open({ ...base, vni: 1 << 24 }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, vni: -1 }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, vni: 1.5 }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, mtu: 67 }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, mtu: 65486 }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, remote: { address: LO6 } }), /different families/);
  await assert.rejects(VxlanLink.open({ ...base, remote: { address: 'localhost' } }), /not an IP literal/);
  await assert.rejects(VxlanLink.open({ ...base, remote: { address: LO4, port: 0 } }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, remote: { address: LO4, port: 65536 } }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, loss: { tx: 1 } }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, loss: { rx: -0.1 } }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, loss: { rx: Number.NaN } }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, maxInflight: 0 }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, sendRingBytes: Number.NaN }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, sendQueueBytes: 1.5 }), { code: 'EINVAL' });
  await assert.rejects(VxlanLink.open({ ...base, io: 'uring' as 'ffi' }), { code: 'EINVAL' });
  assert.equal(ffiUnavailable(), null, 'koffi loads here (a package dependency)');
  const def = await VxlanLink.open(base);
  assert.equal(def.io, 'ffi', 'the libc transport is the default when koffi loads');
  await def.close();
  const big = await VxlanLink.open({ ...base, mtu: 65485 });
  assert.equal(big.mtu, 65485);
  await big.close();
  const big6 = await VxlanLink.open({ local: { address: LO6, port: 0 }, remote: { address: LO6 }, vni: 1, mtu: 65505 });
  await big6.close();
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((r) => holder.bind(0, LO4, () => r()));
  const port = holder.address().port;
  for (const io of IOS) await assert.rejects(VxlanLink.open({ ...base, local: { address: LO4, port }, io }), /EADDRINUSE/, io);
  await new Promise<void>((r) => holder.close(() => r()));
});

test('vxlan: without koffi the default is node:dgram, and asking for ffi fails with EOPNOTSUPP', async () => {
  // a child process whose require('koffi') throws, as on a machine without the prebuilt binary
  const mod = new URL('../../src/link/vxlan/index.js', import.meta.url).href;
  const ffiMod = new URL('../../src/link/vxlan/udp-ffi.js', import.meta.url).href;
  const preload = `const M = require('node:module'); const load = M._load;
    M._load = function (req, ...rest) { if (req === 'koffi') throw new Error('koffi blocked'); return load.call(this, req, ...rest); };`;
  const script = `
    import { VxlanLink } from ${JSON.stringify(mod)};
    import { ffiUnavailable } from ${JSON.stringify(ffiMod)};
    const base = { local: { address: '127.0.0.1', port: 0 }, remote: { address: '127.0.0.1', port: 9 }, vni: 1 };
    const out = { why: ffiUnavailable() };
    const link = await VxlanLink.open(base);
    out.io = link.io;
    await link.close();
    try { await VxlanLink.open({ ...base, io: 'ffi' }); out.ffi = 'opened'; } catch (e) { out.ffi = e.code; }
    console.log(JSON.stringify(out));`;
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'vxlan-nokoffi-'));
  try {
    const pre = join(dir, 'block-koffi.cjs');
    writeFileSync(pre, preload);
    const res = JSON.parse(execFileSync(process.execPath, ['--require', pre, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 })) as Record<string, string | null>;
    assert.match(res.why ?? '', /koffi blocked/);
    assert.equal(res.io, 'dgram');
    assert.equal(res.ffi, 'EOPNOTSUPP');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const io of IOS) test(`vxlan ${io}: with our FramePort-style receiver the frame goes through receiveInBatch, inside the read callback`, async () => {
  const peer = await RawPeer.open('udp4', LO4);
  const link = await VxlanLink.open({ local: { address: LO4, port: 0 }, remote: { address: LO4, port: peer.port }, vni: 42, io });
  const batch: Uint8Array[] = [];
  const follows: (boolean | undefined)[] = [];
  const rx = new StubReceiver();
  const brx = Object.assign(rx, {
    receiveInBatch(frame: Uint8Array, _meta?: unknown, _queue?: number, flushFollows?: boolean): void {
      batch.push(Uint8Array.from(frame));
      follows.push(flushFollows);
      assert.equal(rx.flushes, 0, 'the flush ends the batch, after the frame');
    },
  });
  link.attach(brx);
  try {
    const f = testFrame(80, 9);
    await peer.send(Buffer.from([...vxlanHeader(42), ...f]), link.localPort, LO4);
    const end = Date.now() + 5000;
    while (batch.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
    assert.equal(batch.length, 1);
    assert.deepEqual([...batch[0]!], [...f]);
    assert.equal(rx.frames.length, 0, 'the copying entry is not used');
    // 'ffi' promises the batch's flush (no poll scheduled per frame) and keeps it, in the same callback
    assert.deepEqual(follows, [io === 'ffi']);
    assert.equal(rx.flushes, io === 'ffi' ? 1 : 0);
    link.receiveDatagram(Buffer.from([...vxlanHeader(43), ...f]), LO4);
    assert.equal(batch.length, 1, 'other VNI still dropped before the receiver');
  } finally {
    await link.close();
    await peer.close();
  }
});

for (const family of [4, 6] as const) test(`vxlan ffi (IPv${family} outer): a burst sent in one turn leaves as UDP GSO sends and arrives as separate datagrams, byte-exact and in order`, async () => {
  const { link, peer } = await linkToPeer({ io: 'ffi', mtu: 1500 }, family);
  try {
    // (a burst that fits the peer's default receive buffer: the kernel drops what overflows it)
    const N = 50;
    // full frames, then one short frame (it ends the batch), then full frames again
    const frames = Array.from({ length: N }, (_, i) => testFrame(i === 30 ? 200 : 1500, i));
    for (const f of frames) assert.equal(link.send(f), true);
    // 0..30 left when frame 31 could not join them (the short one closed that batch); 31..49 wait for the burst's end (a microtask)
    assert.equal(link.stats.txGsoSends, 1);
    assert.equal(link.stats.txGsoDatagrams, 31);
    await peer.until(N);
    assert.equal(peer.got.length, N);
    for (let i = 0; i < N; i++) assert.deepEqual([...peer.got[i]!], [...vxlanHeader(42), ...frames[i]!], `datagram ${i}`);
    const st = link.stats;
    assert.equal(st.txPackets, N);
    assert.equal(st.txBytes, frames.reduce((a, f) => a + f.length, 0));
    // 0..30 (31 datagrams, the short one last) and 31..49: two GSO sends
    assert.equal(st.txGsoSends, 2);
    assert.equal(st.txGsoDatagrams, N);
    assert.equal(st.txErrors, 0);
  } finally {
    await link.close();
    await peer.close();
  }
});

test('vxlan ffi: udpGso false sends one datagram per frame, at once', async () => {
  const { link, peer } = await linkToPeer({ io: 'ffi', udpGso: false });
  try {
    for (let i = 0; i < 20; i++) assert.equal(link.send(testFrame(1000, i)), true);
    assert.equal(link.stats.txPackets, 20);
    await peer.until(20);
    for (let i = 0; i < 20; i++) assert.deepEqual([...peer.got[i]!], [...vxlanHeader(42), ...testFrame(1000, i)]);
    assert.equal(link.stats.txGsoSends, 0);
  } finally {
    await link.close();
    await peer.close();
  }
});

test('vxlan ffi: a burst still in the batch when the link closes is sent, not lost', async () => {
  const { link, peer } = await linkToPeer({ io: 'ffi' });
  try {
    for (let i = 0; i < 5; i++) link.send(testFrame(300, i));
    await link.close();
    await peer.until(5);
    for (let i = 0; i < 5; i++) assert.deepEqual([...peer.got[i]!], [...vxlanHeader(42), ...testFrame(300, i)]);
    assert.equal(link.send(testFrame(300, 9)), true);
    assert.equal(link.stats.txAfterClose, 1);
  } finally {
    await peer.close();
  }
});

test('vxlan ffi: datagrams that queue up while the loop is busy are read in recvmmsg batches: order, per-datagram source checks and oversize cuts hold', async () => {
  const { link, peer, rx } = await linkToPeer({ io: 'ffi' });
  try {
    // a child sends while this process is blocked in execFileSync, so everything waits in our socket
    const N = 150;
    const script = `
      const dgram = require('node:dgram');
      const port = Number(process.argv[1]);
      const hdr = [0x08, 0, 0, 0, 0, 0, 42, 0];
      const frame = (i, len) => { const b = Buffer.alloc(8 + len); b.set(hdr); for (let j = 8; j < b.length; j++) b[j] = (i * 7 + j) & 255; return b; };
      const ours = dgram.createSocket('udp4'), theirs = dgram.createSocket('udp4');
      ours.bind(0, '127.0.0.1', () => theirs.bind(0, '127.0.0.2', async () => {
        const send = (s, b) => new Promise((r) => s.send(b, port, '127.0.0.1', r));
        for (let i = 0; i < ${N}; i++) {
          if (i % 5 === 3) await send(theirs, frame(i, 100));       // a stranger's
          else if (i === 77) await send(ours, frame(i, 1450 + 14 + 4 + 1)); // one byte over MTU + VLAN tag
          else await send(ours, frame(i, 60 + (i % 40)));
        }
        ours.close(); theirs.close();
      }));`;
    const { execFileSync } = await import('node:child_process');
    execFileSync(process.execPath, ['-e', script, String(link.localPort)], { timeout: 10_000 });
    const want: number[][] = [];
    for (let i = 0; i < N; i++) {
      if (i % 5 === 3 || i === 77) continue;
      const len = 60 + (i % 40);
      want.push(Array.from({ length: len }, (_, j) => (i * 7 + j + 8) & 255));
    }
    const s = link.stats;
    await rx.until(() => s.rxPackets + s.rxForeignSource + s.rxTooLong === N, 5000, `${N} datagrams counted`);
    assert.equal(s.rxForeignSource, N / 5);
    assert.equal(s.rxTooLong, 1);
    assert.deepEqual(rx.frames.map((f) => [...f]), want, 'every good frame, byte-exact, in order');
    assert.ok(rx.flushes < want.length / 8, `frames arrived in batches (${rx.flushes} flushes for ${want.length} frames)`);
  } finally {
    await link.close();
    await peer.close();
  }
});

for (const udpGso of [true, false]) test(`vxlan ffi (udpGso ${udpGso}): seeded tx loss is the same with a socket that pushes back (EAGAIN) as without`, async () => {
  async function run(pushBack: boolean): Promise<number[]> {
    const { link, peer, rx } = await linkToPeer({ io: 'ffi', loss: { tx: 0.3 }, seed: 11, udpGso });
    try {
      if (pushBack) {
        // the socket refuses every 5th send (every 2nd of the fewer GSO sends): the link goes
        // busy, and drains once writable
        const sock = (link as unknown as { ffi: { sendArea(off: number, len: number, seg: number): number } }).ffi;
        const real = sock.sendArea.bind(sock);
        const every = udpGso ? 2 : 5;
        let calls = 0;
        sock.sendArea = (off, len, seg) => (++calls % every === 0 ? -11 : real(off, len, seg));
      }
      let refused = 0;
      for (let i = 0; i < 300; i++) {
        const f = testFrame(40, i);
        f[14] = i & 0xff;
        f[15] = i >> 8;
        while (!link.send(f)) {
          refused++;
          const d = rx.drains;
          await rx.until(() => rx.drains > d, 5000, 'drain');
        }
      }
      if (pushBack) assert.ok(refused > 0, 'the link was busy at least once (the case under test)');
      else assert.equal(refused, 0);
      assert.equal(link.stats.txPackets + link.stats.txLossDrops, 300, 'one draw per frame');
      await peer.until(link.stats.txPackets);
      return peer.got.map((g) => g[8 + 14]! | (g[8 + 15]! << 8));
    } finally {
      await link.close();
      await peer.close();
    }
  }
  const calm = await run(false);
  const pushed = await run(true);
  assert.deepEqual(pushed, calm, 'the same frames survive');
  assert.ok(calm.length > 170 && calm.length < 250, `${calm.length} of 300 survive 30% loss`);
});
