/**
 * Flow dissector tests on hand-crafted frames: IPv4 with options, IPv6 extension header chains,
 * fragments of both families, malformed and truncated headers (never a throw, never a read past
 * the bytes given), GSO mode.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr, addrEquals } from '../../src/inet/index.js';
import { FLOW_DISSECT_MAX_EXTHDRS, FlowDissect, flowDissect } from '../../src/netdev/index.js';
import { Rng } from '../../src/rand/index.js';
import {
  V6_DST, V6_SRC, cat, fragHdr, ipv4Frame, ipv6Frame, optHdr, payloadOf, pseudo6, tcp4, tcp6, udp6, udpDatagram,
} from './frames.js';

function dissect(frame: Uint8Array, hl = frame.length, flen = frame.length, gso = false): FlowDissect {
  const fd = new FlowDissect();
  flowDissect(fd, new DataView(frame.buffer, frame.byteOffset, frame.byteLength), 0, hl, flen, gso);
  return fd;
}

/** a DataView that throws on any read outside [lo, hi) (proves the dissector stays inside) */
function fencedView(frame: Uint8Array, hi: number): DataView {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const check = (off: number, n: number): void => {
    if (off < 0 || off + n > hi) throw new RangeError(`read ${off}+${n} outside [0,${hi})`);
  };
  return new Proxy(dv, {
    get(target, prop) {
      if (prop === 'getUint8') return (o: number) => (check(o, 1), target.getUint8(o));
      if (prop === 'getUint16') return (o: number) => (check(o, 2), target.getUint16(o));
      if (prop === 'getUint32') return (o: number) => (check(o, 4), target.getUint32(o));
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const TS_OPTS = Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2);

describe('flow dissector', () => {
  it('IPv4 with IHL 6 and TCP options: offsets, addresses, ports, flags, split', () => {
    const f = tcp4({ options: Uint8Array.of(1, 1, 1, 0), tcpOptions: TS_OPTS, flags: 0x18, sport: 1234, dport: 80, payload: payloadOf(100, 1), tos: 0x10, ttl: 33 });
    const fd = dissect(f);
    assert.equal(fd.family, 4);
    assert.equal(fd.etherType, 0x0800);
    assert.equal(fd.l3, 14);
    assert.equal(fd.ipHlen, 24);
    assert.equal(fd.l3Opts, true);
    assert.equal(fd.l4, 38);
    assert.equal(fd.proto, 6);
    assert.ok(addrEquals(fd.src, InetAddr.parse('10.0.0.1')));
    assert.ok(addrEquals(fd.dst, InetAddr.parse('10.0.0.2')));
    assert.equal(fd.src.w2, 0xffff, 'IPv4 addresses are v4-mapped');
    assert.deepEqual([fd.sport, fd.dport, fd.hasPorts, fd.hasL4Ports], [1234, 80, true, true]);
    assert.deepEqual([fd.tcpHlen, fd.tcpFlags], [32, 0x18]);
    assert.equal(fd.split, 38 + 32);
    assert.equal(fd.l3End, f.length);
    assert.deepEqual([fd.tos, fd.ttl, fd.isFragment, fd.truncated, fd.l4Bad], [0x10, 33, false, false, false]);
  });

  it('IPv4 padding: l3End is the datagram end, not the frame end', () => {
    const f = tcp4({ pad: 6 });
    const fd = dissect(f);
    assert.equal(fd.l3End, f.length - 6);
    assert.equal(fd.split, 54);
  });

  it('IPv6 extension headers are walked to TCP: hop-by-hop, destination options, routing', () => {
    const routing = new Uint8Array(24);
    routing[0] = 6;
    routing[1] = 2;
    const ext = cat(optHdr(60, 1), optHdr(43, 2), routing);
    const l4 = tcp6({ payload: payloadOf(50, 2) }).subarray(54);
    const f = ipv6Frame(6, l4, { ext, firstNh: 0, tclass: 0xb8, flow: 0xabcde, hop: 7 });
    const fd = dissect(f);
    assert.equal(fd.family, 6);
    assert.equal(fd.ipHlen, 40);
    assert.equal(fd.l3Opts, true);
    assert.equal(fd.l4, 54 + 8 + 16 + 24);
    assert.equal(fd.proto, 6);
    assert.equal(fd.split, fd.l4 + 20);
    assert.deepEqual([fd.tos, fd.flowLabel, fd.ttl], [0xb8, 0xabcde, 7]);
    assert.ok(addrEquals(fd.src, InetAddr.parse(V6_SRC)));
    assert.ok(addrEquals(fd.dst, InetAddr.parse(V6_DST)));
  });

  it('IPv6 without extension headers: UDP splits after 8 bytes, ICMPv6 after the IPv6 header', () => {
    const u = dissect(udp6({ sport: 53, dport: 5353, payload: payloadOf(30, 3) }));
    assert.deepEqual([u.family, u.l4, u.proto, u.sport, u.dport, u.split, u.l3Opts], [6, 54, 17, 53, 5353, 62, false]);
    const icmp = dissect(ipv6Frame(58, Uint8Array.of(128, 0, 0, 0, 0, 1, 0, 1)));
    assert.deepEqual([icmp.family, icmp.l4, icmp.proto, icmp.hasPorts, icmp.split], [6, 54, 58, false, 54]);
  });

  it('IPv6 fragments: the first carries ports (not for steering), later ones none; split after the fragment header', () => {
    const l4 = udpDatagram(pseudo6(V6_SRC, V6_DST, 17), { payload: payloadOf(64, 4) });
    const first = dissect(ipv6Frame(17, l4.subarray(0, 48), { ext: fragHdr(17, 0, true), firstNh: 44 }));
    assert.deepEqual([first.isFragment, first.fragOff, first.l4, first.hasPorts, first.hasL4Ports, first.split], [true, 0, 62, true, false, 62]);
    assert.equal(first.dport, 5201);
    const later = dissect(ipv6Frame(17, l4.subarray(48), { ext: fragHdr(17, 48, false), firstNh: 44 }));
    assert.deepEqual([later.isFragment, later.fragOff, later.l4, later.hasPorts, later.proto, later.split], [true, 48, -1, false, 17, 62]);
  });

  it('IPv4 fragments: MF or an offset marks a fragment; non-first fragments have no ports', () => {
    const l4 = tcp4({ payload: payloadOf(40, 5) }).subarray(34);
    const first = dissect(ipv4Frame(6, l4.subarray(0, 32), { frag: 0x2000 }));
    assert.deepEqual([first.isFragment, first.fragOff, first.l4, first.hasPorts, first.hasL4Ports, first.split], [true, 0, 34, true, false, 34]);
    const later = dissect(ipv4Frame(6, l4.subarray(32), { frag: 4 }));
    assert.deepEqual([later.isFragment, later.fragOff, later.l4, later.hasPorts, later.split], [true, 32, -1, false, 34]);
    const df = dissect(ipv4Frame(6, l4, { frag: 0x4000 }));
    assert.equal(df.isFragment, false, 'DF alone is no fragment');
  });

  it('the extension header walk is bounded, and hop-by-hop must come first', () => {
    let ext: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < FLOW_DISSECT_MAX_EXTHDRS + 1; i++) ext = cat(ext, optHdr(i === FLOW_DISSECT_MAX_EXTHDRS ? 6 : 60, 1));
    const l4 = tcp6().subarray(54);
    const long = dissect(ipv6Frame(6, l4, { ext, firstNh: 60 }));
    assert.deepEqual([long.family, long.l4, long.proto, long.hasPorts, long.l3Opts], [6, -1, 60, false, true]);
    const exact = dissect(ipv6Frame(6, l4, { ext: ext.subarray(8), firstNh: 60 }));
    assert.equal(exact.l4, 54 + 8 * FLOW_DISSECT_MAX_EXTHDRS, 'exactly the bound still reaches TCP');
    const hbhLate = dissect(ipv6Frame(6, l4, { ext: cat(optHdr(0, 1), optHdr(6, 1)), firstNh: 60 }));
    assert.deepEqual([hbhLate.l4, hbhLate.proto], [-1, 0]);
  });

  it('malformed headers: family 0 or no L4, the frame stays whole in the head', () => {
    const good = tcp4({ payload: payloadOf(20, 6) });
    const badIhl = good.slice();
    badIhl[14] = 0x44;
    assert.equal(dissect(badIhl).family, 0);
    assert.equal(dissect(badIhl).split, good.length);
    const badVer = good.slice();
    badVer[14] = 0x65;
    assert.equal(dissect(badVer).family, 0);
    const longTotal = good.slice();
    longTotal[17] = (longTotal[17]! + 1) & 0xff;
    assert.equal(dissect(longTotal).family, 0, 'total length past the frame');
    const badDoff = good.slice();
    badDoff[46] = 0x40;
    const d = dissect(badDoff);
    assert.deepEqual([d.family, d.l4, d.l4Bad, d.split], [4, 34, true, good.length]);
    // IPv6: an extension header longer than the payload
    const ext = optHdr(6, 1);
    ext[1] = 200;
    const e = dissect(ipv6Frame(6, tcp6().subarray(54), { ext, firstNh: 60 }));
    assert.deepEqual([e.family, e.l4, e.split], [6, -1, 54 + 8 + 20]);
    // IPv6 payload length past the frame
    const v6 = tcp6();
    v6[19] = v6[19]! + 1;
    assert.equal(dissect(v6).family, 0);
  });

  it('truncated input: a short head asks for more bytes; a short frame is malformed; nothing reads past the bytes given', () => {
    const frames = [
      tcp4({ options: Uint8Array.of(1, 1, 1, 0), tcpOptions: TS_OPTS, payload: payloadOf(64, 7) }),
      ipv6Frame(6, tcp6({ tcpOptions: TS_OPTS, payload: payloadOf(64, 8) }).subarray(54), { ext: cat(optHdr(60, 2), optHdr(44, 1), fragHdr(6, 0, false)), firstNh: 0 }),
      udp6({ payload: payloadOf(40, 9) }),
    ];
    for (const f of frames) {
      const full = dissect(f);
      assert.equal(full.truncated, false);
      for (let hl = 0; hl <= f.length; hl++) {
        // the head holds hl bytes of the whole frame
        const fd = new FlowDissect();
        flowDissect(fd, fencedView(f, hl), 0, hl, f.length);
        if (hl >= full.split) {
          assert.equal(fd.truncated, false, `hl ${hl}`);
          assert.equal(fd.split, full.split);
          assert.equal(fd.l4, full.l4);
        } else if (!fd.truncated) {
          assert.equal(fd.family, 0, `hl ${hl}: without enough bytes only "not IP" is final`);
        }
        // the frame itself is cut to hl bytes
        const cut = new FlowDissect();
        flowDissect(cut, fencedView(f, hl), 0, hl, hl);
        assert.equal(cut.truncated, false);
        assert.ok(cut.split <= hl && cut.l4 < hl + 1);
      }
    }
  });

  it('random mutations never throw and keep every offset inside the frame', () => {
    const rng = new Rng(5);
    const seeds = [
      tcp4({ options: Uint8Array.of(1, 1, 1, 0), payload: payloadOf(30, 1) }),
      ipv6Frame(6, tcp6({ payload: payloadOf(30, 2) }).subarray(54), { ext: cat(optHdr(60, 1), optHdr(6, 1)), firstNh: 0 }),
      udp6({ payload: payloadOf(30, 3) }),
    ];
    const fd = new FlowDissect();
    for (let i = 0; i < 3000; i++) {
      const f = seeds[i % seeds.length]!.slice();
      const n = 1 + rng.nextInt(4);
      for (let k = 0; k < n; k++) f[12 + rng.nextInt(f.length - 12)] = rng.nextInt(256);
      const len = rng.nextInt(f.length + 1);
      const hl = rng.nextInt(len + 1);
      flowDissect(fd, fencedView(f, hl), 0, hl, len);
      assert.ok(fd.split <= len, 'split inside the frame');
      assert.ok(fd.l4 < len || fd.l4 === -1);
      if (fd.family !== 0) assert.ok(fd.l3End <= len);
    }
  });

  it('GSO mode ignores the IP length fields', () => {
    const f = tcp6({ payload: payloadOf(100, 11) });
    f[18] = 0xff;
    f[19] = 0xff;
    assert.equal(dissect(f).family, 0, 'payload length past the frame');
    const g = dissect(f, 74, f.length, true);
    assert.deepEqual([g.family, g.l4, g.split, g.l3End], [6, 54, 74, f.length]);
  });
});
