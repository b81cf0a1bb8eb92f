/**
 * TSO skb sizes (Linux tcp_xmit_size_goal): whole MSS up to the device's GSO limit less the IP
 * and TCP headers (64 KiB − headers by default), and never more than the skb's frag slots hold
 * at any alignment of the socket's 32 KiB frag pages ((maxFrags − 1) × 32 KiB), so every
 * segment's payload fits its skb.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../src/inet/index.js';
import { MAX_SKB_FRAGS, MAX_SKB_FRAGS_LIMIT } from '../../src/skb/index.js';
import { TCP_ESTABLISHED } from '../../src/tcp/index.js';
import { FakeNet, attach, drain, seg, type FakeHost } from './fake-ip.js';

interface Run {
  /** largest TCP payload A sent in one segment */
  max: number;
  mss: number;
}

function tsoTransfer(family: 4 | 6, gsoMaxSize: number, maxFrags: number, size = 4 << 20): Run {
  const net = new FakeNet();
  const [aAddr, bAddr] = family === 4 ? ['10.0.0.1', '10.0.0.2'] : ['2001:db8::1', '2001:db8::2'];
  const a = net.addHost('a', [aAddr], { maxFrags });
  const b = net.addHost('b', [bAddr]);
  // the Linux figures below are for segments without the timestamp option (MSS 1460)
  a.tcp.sysctl.tcp_timestamps = b.tcp.sysctl.tcp_timestamps = false;
  const dev = a.ip.dev as unknown as { tso: boolean; gsoMaxSize: number };
  dev.tso = true;
  dev.gsoMaxSize = gsoMaxSize;
  assert.equal(a.skbs.maxFrags, maxFrags);
  const l = b.tcp.socket(family);
  attach(l);
  assert.equal(b.tcp.userBind(l, InetAddr.parse(bAddr), 80), 0);
  assert.equal(b.tcp.userListen(l, 8), 0);
  const c = a.tcp.socket(family);
  attach(c);
  assert.equal(a.tcp.userConnect(c, InetAddr.parse(bAddr), 80), 0);
  assert.ok(net.run(() => c.state === TCP_ESTABLISHED && l.acceptQueue.length > 0, 5_000_000));
  const s = b.tcp.userAccept(l)!;
  attach(s);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >>> 12)) & 0xff;
  let off = 0;
  const got = new Uint8Array(size);
  let gotLen = 0;
  const pump = (h: FakeHost): boolean => {
    if (off < size) {
      const n = h.tcp.userSend(c, data, off, size - off, false);
      if (n > 0) off += n;
    }
    const d = drain(s);
    got.set(d, gotLen);
    gotLen += d.length;
    return gotLen >= size;
  };
  assert.ok(net.run(() => pump(a), 60_000_000), `${gotLen} of ${size} bytes arrived`);
  assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'byte-exact');
  let max = 0;
  for (const w of net.log) if (w.from === 'a') max = Math.max(max, seg(w).len);
  return { max, mss: c.mss };
}

describe('TSO size goal', () => {
  it('IPv4, 64 KiB GSO limit, 17 frag slots: 64 KiB − headers in whole MSS (44 × 1460 = 64240, was 42 × 1460 under a 15-page cap)', () => {
    const r = tsoTransfer(4, 65536, MAX_SKB_FRAGS);
    assert.equal(r.mss, 1460);
    assert.equal(r.max, 44 * 1460);
    assert.ok(r.max <= 65536 - 1 - 40);
  });

  it('IPv6: 64 KiB − 1 − 60 header bytes (45 × 1440 = 64800)', () => {
    const r = tsoTransfer(6, 65536, MAX_SKB_FRAGS);
    assert.equal(r.mss, 1440);
    assert.equal(r.max, 45 * 1440);
  });

  it('a larger GSO limit (BIG TCP, 256 KiB) is what caps it: 17 slots of 32 KiB frag pages hold more (whole MSS)', () => {
    const cap = Math.floor(((256 << 10) - 1 - 40) / 1460) * 1460;
    for (const slots of [MAX_SKB_FRAGS, MAX_SKB_FRAGS_LIMIT]) {
      const r = tsoTransfer(4, 256 << 10, slots);
      // (the window and cwnd limit it too: beyond 64 KiB, within the GSO limit)
      assert.ok(r.max > 64 << 10 && r.max <= cap && r.max % 1460 === 0, `${slots} slots: ${r.max}`);
    }
  });
});
