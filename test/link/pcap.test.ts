import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PCAP_CHUNK_SIZE, PcapTap, PcapWriter, SimWire } from '../../src/link/index.js';
import { BindingTable, DeviceMemory, DmabufBinding, DmabufDevmemProvider } from '../../src/mem/index.js';
import type { NetDevice } from '../../src/netdev/index.js';
import { Rng } from '../../src/rand/index.js';
import { skbFree, type SkBuff } from '../../src/skb/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import { ETH_HLEN, IPV4_HLEN, LINKTYPE_ETHERNET, TCP_HLEN, readPcap } from '../../src/wire/index.js';
import { MAC_A, MAC_B, frameSkb, hex, makeHost, runAll, tcpFrame, testFrame, type Host } from './helpers.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'devmem-link-'));
}

/** binds rx queue 0 of `h.dev` to device memory with header split on: rx payload becomes unreadable */
function bindDevmem(h: Host): DeviceMemory {
  const dm = new DeviceMemory(1 << 20);
  const binding = new DmabufBinding(h.mem, new BindingTable(), dm, h.dev, h.dev.name, 'rx');
  h.dev.rxQueues[0]!.mpProvider = new DmabufDevmemProvider(binding);
  h.dev.tcpDataSplit = 'on';
  assert.equal(h.dev.restartRxQueue(0), 0);
  return dm;
}

test('memory writer: byte-exact global and record headers', () => {
  const w = PcapWriter.memory();
  w.writeBytes(1_234_567, new Uint8Array([1, 2, 3, 4]));
  w.writeBytes(3_000_000, new Uint8Array([9, 8]), 60);
  const b = w.bytes();
  assert.equal(hex(b), [
    // magic, version 2.4, thiszone 0, sigfigs 0, snaplen 262144, linktype 1
    'd4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 00 00 04 00 01 00 00 00',
    // ts 1 s 234567 µs, capLen 4, origLen 4
    '01 00 00 00 47 94 03 00 04 00 00 00 04 00 00 00 01 02 03 04',
    // ts 3 s 0 µs, capLen 2, origLen 60
    '03 00 00 00 00 00 00 00 02 00 00 00 3c 00 00 00 09 08',
  ].join(' '));
  assert.equal(w.records, 2);
  assert.equal(w.totalBytes, b.length);
  const p = readPcap(b);
  assert.equal(p.linktype, LINKTYPE_ETHERNET);
  assert.deepEqual(p.records.map((r) => [r.tsUs, r.capLen, r.origLen]), [[1_234_567, 4, 4], [3_000_000, 2, 60]]);
  w.close();
  assert.throws(() => w.writeBytes(0, new Uint8Array(1)), /closed/);
});

test('snaplen caps every record', () => {
  const sched = new VirtualScheduler();
  const h = makeHost(sched, 'eth0', 1, MAC_A);
  const w = PcapWriter.memory({ snaplen: 64 });
  const skb = frameSkb(h.skbs, testFrame(1, 200));
  w.write(5, skb);
  w.writeBytes(6, new Uint8Array(100).fill(7));
  skbFree(skb);
  const p = readPcap(w.bytes());
  assert.equal(p.snaplen, 64);
  assert.deepEqual(p.records.map((r) => [r.capLen, r.origLen]), [[64, 200], [64, 100]]);
  assert.deepEqual(p.records[0]!.data, testFrame(1, 200).subarray(0, 64));
});

test('file writer: chunked writes equal the in-memory file, flushed on close', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'big.pcap');
    const f = PcapWriter.open(path);
    const m = PcapWriter.memory();
    const n = 2000; // ~3 MiB: crosses several 1 MiB chunks
    for (let i = 0; i < n; i++) {
      const bytes = testFrame(i, 1500);
      f.writeBytes(i * 10, bytes);
      m.writeBytes(i * 10, bytes);
    }
    assert.ok(m.totalBytes > 2 * PCAP_CHUNK_SIZE);
    f.close();
    f.close(); // idempotent
    const disk = new Uint8Array(readFileSync(path));
    assert.deepEqual(disk, m.bytes());
    const p = readPcap(disk);
    assert.equal(p.records.length, n);
    assert.equal(p.records[1999]!.tsUs, 19_990);
    assert.deepEqual(p.records[1234]!.data, testFrame(1234, 1500));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PcapTap: records only the chosen direction, stamped with the clock', () => {
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  const wire = new SimWire(sched, new Rng(1), a.dev, b.dev, { gbps: 1, delayUs: 5 });
  const txw = PcapWriter.memory();
  const both = PcapWriter.memory();
  new PcapTap(txw, sched, 'tx').attach(a.dev);
  const tb = new PcapTap(both, sched, 'both');
  tb.attach(a.dev);
  tb.attach(a.dev); // idempotent
  sched.advanceTo(1000);
  a.dev.xmit(frameSkb(a.skbs, testFrame(1, 1000)));
  b.dev.xmit(frameSkb(b.skbs, testFrame(2, 500, MAC_A, MAC_B)));
  runAll(sched);
  const tx = readPcap(txw.bytes()).records;
  assert.deepEqual(tx.map((r) => [r.tsUs, r.origLen]), [[1000, 1000]]);
  const all = readPcap(both.bytes()).records;
  assert.deepEqual(all.map((r) => [r.tsUs, r.origLen]), [[1000, 1000], [1009, 500]]);
  tb.detach(a.dev);
  assert.equal(a.dev.taps.length, 1);
  wire.close();
});

test("SimWire pcap: each frame once, at its delivery time, as the receiver saw it; file closed by close()", () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'wire.pcap');
    const sched = new VirtualScheduler();
    const a = makeHost(sched, 'eth0', 1, MAC_A);
    const b = makeHost(sched, 'eth0', 2, MAC_B);
    const wire = new SimWire(sched, new Rng(1), a.dev, b.dev, { gbps: 1, delayUs: 5, pcap: path });
    assert.ok(wire.pcap !== null);
    a.dev.xmit(frameSkb(a.skbs, testFrame(1, 1000)));
    b.dev.xmit(frameSkb(b.skbs, testFrame(2, 250, MAC_A, MAC_B)));
    a.dev.xmit(frameSkb(a.skbs, testFrame(3, 100)));
    runAll(sched);
    wire.close();
    assert.ok(wire.pcap.isClosed);
    assert.equal(a.dev.taps.length, 0);
    assert.equal(b.dev.taps.length, 0);
    const p = readPcap(new Uint8Array(readFileSync(path)));
    assert.deepEqual(p.records.map((r) => [r.tsUs, r.capLen, r.origLen]), [[7, 250, 250], [13, 1000, 1000], [14, 100, 100]]);
    assert.deepEqual(p.records[0]!.data, testFrame(2, 250, MAC_A, MAC_B));
    assert.deepEqual(p.records[1]!.data, testFrame(1, 1000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a caller-provided writer is not closed by SimWire.close()', () => {
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  const w = PcapWriter.memory();
  const wire = new SimWire(sched, new Rng(1), a.dev, b.dev, { pcap: w });
  wire.close();
  assert.equal(w.isClosed, false);
});

test('capture of an unreadable (devmem) rx skb: capLen = headlen < origLen', () => {
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  const dm = bindDevmem(b);
  const w = PcapWriter.memory();
  const wire = new SimWire(sched, new Rng(1), a.dev, b.dev, { gbps: 10, delayUs: 1, pcap: w });
  let seen: { headlen: number; len: number; unreadable: boolean } | null = null;
  b.dev.taps.unshift({
    tap(skb: SkBuff, dir: 'rx' | 'tx', _dev: NetDevice) {
      if (dir === 'rx') seen = { headlen: skb.headlen, len: skb.len, unreadable: skb.unreadable };
    },
  });
  const payload = new Uint8Array(1000);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  const frame = tcpFrame(payload);
  a.dev.xmit(frameSkb(a.skbs, frame));
  runAll(sched);
  const hlen = ETH_HLEN + IPV4_HLEN + TCP_HLEN;
  assert.deepEqual(seen, { headlen: hlen, len: frame.length, unreadable: true });
  assert.equal(b.rx.unreadable, 1);
  assert.equal(dm.stats.dmaBytesWritten, payload.length);
  const recs = readPcap(w.bytes()).records;
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.capLen, hlen);
  assert.equal(recs[0]!.origLen, frame.length);
  assert.deepEqual(recs[0]!.data, frame.subarray(0, hlen));
  assert.equal(dm.stats.hostBytesRead, 0, 'the capture never read device memory');
  wire.close();
});

test('tshark reads a written capture (frame.len / frame.cap_len)', (t) => {
  const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    assert.fail('tshark is not installed (or does not run): install it, e.g. `apt-get install -y tshark`; CI installs it');
  }
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'devmem.pcap');
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  bindDevmem(b);
  const wire = new SimWire(sched, new Rng(1), a.dev, b.dev, { pcap: path });
  a.dev.xmit(frameSkb(a.skbs, tcpFrame(new Uint8Array(1400).fill(1)))); // devmem: headers only
  b.dev.xmit(frameSkb(b.skbs, testFrame(1, 300, MAC_A, MAC_B))); // host memory: whole frame
  runAll(sched);
  wire.close();
  assert.ok(existsSync(path));
  const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tshark failed: ${r.stderr}`);
  const rows = r.stdout.trim().split('\n').map((l) => l.split('\t').map(Number));
  assert.deepEqual(rows, [[1454, 54], [300, 300]]);
});
