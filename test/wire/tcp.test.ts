import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ETH_HLEN, ETH_P_IP, EthernetView, IPPROTO_TCP, IPV4_HLEN, Ipv4View, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_HLEN,
  TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, TcpOptions, TcpView, WIRE_BAD_LENGTH, WIRE_BAD_OPTION, WIRE_OK,
  WIRE_TRUNCATED, dataViewOf, emitEthernet, emitIpv4, emitTcp, parseIpv4Addr, parseIpv4Header, parseTcpHeader,
  parseTcpOptions, tcpFlagsToString, tcpHeaderLen, tcpOptionsLen, tcpPacketLen, tcpVerifyChecksum, writeTcpOptions,
  type TcpRepr,
} from '../../src/wire/index.js';
import { SYN_FRAME, atOffset, hex, toHex } from './helpers.js';

const A = parseIpv4Addr('10.0.0.1');
const B = parseIpv4Addr('10.0.0.2');
const SMOL_SRC = parseIpv4Addr('192.168.1.1');
const SMOL_DST = parseIpv4Addr('192.168.1.2');

// smoltcp's TCP vectors (192.168.1.1 -> 192.168.1.2): FIN|RST|ACK|URG with options
// [wscale 12, nop] and checksum 0x01b6; the same without options, checksum 0x20be.
const SMOL_OPTS = hex(`bf 00 00 50 01 23 45 67 89 ab cd ef 60 35 01 23 01 b6 02 01
                       03 03 0c 01 aa 00 00 ff`);
const SMOL_PLAIN = hex('bf 00 00 50 01 23 45 67 89 ab cd ef 50 35 01 23 20 be 02 01 aa 00 00 ff');

const SYN_TCP = SYN_FRAME.subarray(ETH_HLEN + IPV4_HLEN);
// 10.0.0.2.80 > 10.0.0.1.45678: Flags [S.], seq 0xcafebabe, ack 0x12345679, win 65160,
// options [mss 1460,nop,nop,sackOK,nop,wscale 7] (peer without timestamps).
const SYNACK_TCP = hex(`00 50 b2 6e ca fe ba be 12 34 56 79 80 12 fe 88 bb 4c 00 00
                        02 04 05 b4 01 01 04 02 01 03 03 07`);
// 10.0.0.1.45678 > 10.0.0.2.80: Flags [P.], win 502, options [nop,nop,TS val 0x01020304
// ecr 0x0a0b0c0d,nop,nop,sack 2 {1000:2000}{3000:4000}], payload "hello".
const DATA_TCP = hex(`b2 6e 00 50 12 34 56 79 ca fe ba bf d0 18 01 f6 e4 65 00 00
                      01 01 08 0a 01 02 03 04 0a 0b 0c 0d 01 01 05 12
                      00 00 03 e8 00 00 07 d0 00 00 0b b8 00 00 0f a0 68 65 6c 6c 6f`);

function view(b: Uint8Array, off = 0, len = b.length - off): TcpView {
  return new TcpView().rebind(b, dataViewOf(b), off, len);
}

function opts(init: Partial<Omit<TcpOptions, 'sackBlocks' | 'reset'>>, blocks: number[] = []): TcpOptions {
  const o = Object.assign(new TcpOptions(), init);
  o.sackBlocks.set(blocks);
  o.sackCount = blocks.length / 2;
  return o;
}

function plainOpts(o: TcpOptions): object {
  return {
    mss: o.mss, wscale: o.wscale, sackPermitted: o.sackPermitted, hasTimestamp: o.hasTimestamp, tsVal: o.tsVal,
    tsEcr: o.tsEcr, sack: Array.from(o.sackBlocks.subarray(0, 2 * o.sackCount)),
  };
}

function emitted(r: TcpRepr, src: number, dst: number): Uint8Array {
  const b = new Uint8Array(tcpPacketLen(r));
  emitTcp(r, b, dataViewOf(b), 0, src, dst);
  return b;
}

describe('tcp header', () => {
  it('deconstructs the smoltcp vector with options', () => {
    const v = view(atOffset(SMOL_OPTS));
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.srcPort, 48896);
    assert.equal(v.dstPort, 80);
    assert.equal(v.seq, 0x01234567);
    assert.equal(v.ack, 0x89abcdef);
    assert.equal(v.headerLen, 24);
    assert.equal(v.flags, TCP_FIN | TCP_RST | TCP_ACK | TCP_URG);
    assert.equal(v.window, 0x0123);
    assert.equal(v.checksum, 0x01b6);
    assert.equal(v.urgent, 0x0201);
    assert.equal(v.optionsLen, 4);
    assert.equal(v.payloadLen, 4);
    assert.equal(v.verifyChecksum(SMOL_SRC, SMOL_DST), true);
    const o = new TcpOptions();
    assert.equal(v.parseOptions(o), WIRE_OK);
    assert.deepEqual(plainOpts(o), plainOpts(opts({ wscale: 12 })));
    assert.equal(view(SMOL_PLAIN).verifyChecksum(SMOL_SRC, SMOL_DST), true);
  });

  it('constructs the smoltcp vector with setters + fillChecksum', () => {
    const b = new Uint8Array(28);
    const v = view(b);
    v.srcPort = 48896;
    v.dstPort = 80;
    v.seq = 0x01234567;
    v.ack = 0x89abcdef;
    v.headerLen = 24;
    v.flags = TCP_FIN | TCP_RST | TCP_ACK | TCP_URG;
    v.window = 0x0123;
    v.urgent = 0x0201;
    v.checksum = 0xeeee;
    b.set(hex('03 03 0c 01 aa 00 00 ff'), 20);
    v.fillChecksum(SMOL_SRC, SMOL_DST);
    assert.equal(toHex(b), toHex(SMOL_OPTS));
  });

  it('deconstructs the Linux SYN: options mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7', () => {
    const v = view(SYN_TCP);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.srcPort, 45678);
    assert.equal(v.dstPort, 80);
    assert.equal(v.seq, 0x12345678);
    assert.equal(v.ack, 0);
    assert.equal(v.headerLen, 40);
    assert.equal(v.flags, TCP_SYN);
    assert.equal(v.window, 64240);
    assert.equal(v.checksum, 0x1da1);
    assert.equal(v.payloadLen, 0);
    assert.equal(v.verifyChecksum(A, B), true);
    const r = parseTcpHeader(v);
    assert.deepEqual(plainOpts(r.options), plainOpts(opts({ mss: 1460, sackPermitted: true, hasTimestamp: true, tsVal: 1, tsEcr: 0, wscale: 7 })));
  });

  it('emits the Linux SYN, SYN-ACK and data segments byte-exactly', () => {
    const syn: TcpRepr = {
      srcPort: 45678, dstPort: 80, seq: 0x12345678, ack: 0, flags: TCP_SYN, window: 64240, urgent: 0,
      options: opts({ mss: 1460, sackPermitted: true, hasTimestamp: true, tsVal: 1, tsEcr: 0, wscale: 7 }),
      payload: new Uint8Array(0),
    };
    assert.equal(tcpHeaderLen(syn), 40);
    assert.equal(toHex(emitted(syn, A, B)), toHex(SYN_TCP));
    const synack: TcpRepr = {
      srcPort: 80, dstPort: 45678, seq: 0xcafebabe, ack: 0x12345679, flags: TCP_SYN | TCP_ACK, window: 65160, urgent: 0,
      options: opts({ mss: 1460, sackPermitted: true, wscale: 7 }), payload: new Uint8Array(0),
    };
    assert.equal(toHex(emitted(synack, B, A)), toHex(SYNACK_TCP));
    const data: TcpRepr = {
      srcPort: 45678, dstPort: 80, seq: 0x12345679, ack: 0xcafebabf, flags: TCP_PSH | TCP_ACK, window: 502, urgent: 0,
      // MSS / wscale / sackOK are SYN-only and must not be written here.
      options: opts({ mss: 1460, wscale: 7, sackPermitted: true, hasTimestamp: true, tsVal: 0x01020304, tsEcr: 0x0a0b0c0d },
        [1000, 2000, 3000, 4000]),
      payload: new TextEncoder().encode('hello'),
    };
    assert.equal(toHex(emitted(data, A, B)), toHex(DATA_TCP));
    const smol: TcpRepr = {
      srcPort: 48896, dstPort: 80, seq: 0x01234567, ack: 0x89abcdef, flags: TCP_FIN | TCP_RST | TCP_ACK | TCP_URG,
      window: 0x0123, urgent: 0x0201, options: new TcpOptions(), payload: hex('aa 00 00 ff'),
    };
    assert.equal(toHex(emitted(smol, SMOL_SRC, SMOL_DST)), toHex(SMOL_PLAIN));
  });

  it('parse -> emit round-trips the fixtures', () => {
    for (const [b, src, dst] of [[SYN_TCP, A, B], [SYNACK_TCP, B, A], [DATA_TCP, A, B]] as const) {
      const v = view(b);
      assert.equal(v.check(), WIRE_OK);
      assert.equal(v.verifyChecksum(src, dst), true);
      const r = parseTcpHeader(v);
      assert.equal(r.payload.buffer, b.buffer);
      assert.equal(toHex(emitted(r, src, dst)), toHex(b));
    }
  });

  it('builds and parses the whole Ethernet+IPv4+TCP SYN frame', () => {
    const eth = new EthernetView().rebind(SYN_FRAME, dataViewOf(SYN_FRAME), 0, SYN_FRAME.length);
    assert.equal(eth.check(), WIRE_OK);
    assert.equal(eth.etherType, ETH_P_IP);
    const ip = new Ipv4View().rebind(eth.buf, eth.dv, eth.payloadOff, eth.payloadLen);
    assert.equal(ip.check(), WIRE_OK);
    assert.equal(ip.verifyChecksum(), true);
    assert.equal(ip.protocol, IPPROTO_TCP);
    const tcp = new TcpView().rebind(ip.buf, ip.dv, ip.payloadOff, ip.payloadLen);
    assert.equal(tcp.check(), WIRE_OK);
    assert.equal(tcp.verifyChecksum(ip.src, ip.dst), true);
    const ipr = parseIpv4Header(ip);
    const tr = parseTcpHeader(tcp);
    const out = new Uint8Array(ETH_HLEN + IPV4_HLEN + tcpPacketLen(tr));
    const dv = dataViewOf(out);
    emitEthernet({ dst: eth.dst, src: eth.src, etherType: ETH_P_IP }, dv, 0);
    emitIpv4({ ...ipr, payloadLen: tcpPacketLen(tr) }, dv, ETH_HLEN);
    emitTcp(tr, out, dv, ETH_HLEN + IPV4_HLEN, ipr.src, ipr.dst);
    assert.equal(toHex(out), toHex(SYN_FRAME));
  });

  it('rejects truncated segments and impossible data offsets', () => {
    for (let n = 0; n < TCP_HLEN; n++) assert.equal(view(SYN_TCP, 0, n).check(), WIRE_TRUNCATED, `len ${n}`);
    assert.equal(view(SYN_TCP, 0, 39).check(), WIRE_TRUNCATED, 'headerLen 40 > len 39');
    const b = SYN_TCP.slice();
    b[12] = 0x40;
    assert.equal(view(b).check(), WIRE_BAD_LENGTH, 'data offset 4');
    b[12] = 0x00;
    assert.equal(view(b).check(), WIRE_BAD_LENGTH, 'data offset 0');
    b[12] = 0xf0;
    assert.equal(view(b).check(), WIRE_TRUNCATED, 'data offset 15 > 40 bytes');
    b[12] = 0x50;
    assert.equal(view(b).check(), WIRE_OK);
  });

  it('detects a bad checksum', () => {
    const b = DATA_TCP.slice();
    b[b.length - 1] ^= 0x20;
    assert.equal(tcpVerifyChecksum(b, dataViewOf(b), 0, b.length, A, B), false);
    assert.equal(tcpVerifyChecksum(DATA_TCP, dataViewOf(DATA_TCP), 0, DATA_TCP.length, A, B + 1), false);
  });

  it('headerLen setter keeps the low nibble', () => {
    const b = new Uint8Array(20);
    b[12] = 0x01;
    view(b).headerLen = 32;
    assert.equal(b[12], 0x81);
  });

  it('never throws on random bytes; option parsing stays in bounds after check() (property)', () => {
    const o = new TcpOptions();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (data) => {
      const v = view(data);
      if (v.check() !== WIRE_OK) return;
      assert.ok(v.headerLen >= 20 && v.headerLen <= data.length);
      const rc = v.parseOptions(o);
      assert.ok(rc === WIRE_OK || rc === WIRE_BAD_OPTION);
      assert.ok(o.sackCount <= 4 && o.wscale <= 14);
      parseTcpHeader(v);
    }), { numRuns: 2000 });
  });
});

describe('tcp options', () => {
  const parse = (s: string): [number, TcpOptions] => {
    const b = hex(s);
    const o = new TcpOptions();
    return [parseTcpOptions(b, 0, b.length, o), o];
  };

  it('skips unknown options, stops at EOL, ignores wrong-length known kinds, clamps wscale', () => {
    let [rc, o] = parse('1e 04 aa bb 02 04 05 dc 00 02 04 05 b4');
    assert.equal(rc, WIRE_OK);
    assert.equal(o.mss, 1500);
    [rc, o] = parse('02 05 05 b4 00 03 03 0f 01 04 03 00');
    assert.equal(rc, WIRE_OK);
    assert.equal(o.mss, -1, 'MSS with length 5 ignored');
    assert.equal(o.wscale, 14, 'wscale 15 clamped');
    assert.equal(o.sackPermitted, false, 'sackOK with length 3 ignored');
    [rc, o] = parse('08 08 00 00 00 01 00 00 05 0a 00 00 00 01 00 00 00 02 01 01');
    assert.equal(rc, WIRE_OK);
    assert.equal(o.hasTimestamp, false, 'TS with length 8 ignored');
    assert.equal(o.sackCount, 1);
    assert.deepEqual(Array.from(o.sackBlocks.subarray(0, 2)), [1, 2]);
    [rc, o] = parse('05 09 00 00 00 01 00 00 00');
    assert.equal(rc, WIRE_OK);
    assert.equal(o.sackCount, 0, 'SACK with length 2+7 ignored');
  });

  it('returns WIRE_BAD_OPTION for length < 2, overruns and a missing length byte', () => {
    for (const s of ['02 00 05 b4', '02 01 05 b4', '02 04 05 b4 1e 09 00 00', '01 01 02', '08 0a 00 00 00 01']) {
      const [rc] = parse(s);
      assert.equal(rc, WIRE_BAD_OPTION, s);
    }
    // What came before the bad option is kept.
    const [rc, o] = parse('02 04 05 b4 03 01');
    assert.equal(rc, WIRE_BAD_OPTION);
    assert.equal(o.mss, 1460);
  });

  it('resets the output object on every parse', () => {
    const o = new TcpOptions();
    const b = hex('02 04 05 b4 04 02 08 0a 00 00 00 01 00 00 00 00 01 03 03 07');
    parseTcpOptions(b, 0, b.length, o);
    assert.equal(o.hasTimestamp, true);
    parseTcpOptions(b, 0, 0, o);
    assert.deepEqual(plainOpts(o), plainOpts(new TcpOptions()));
  });

  it('writes Linux layouts', () => {
    const cases: [TcpOptions, boolean, string][] = [
      [opts({ mss: 1460, sackPermitted: true, hasTimestamp: true, tsVal: 1, tsEcr: 0, wscale: 7 }), true,
        '02 04 05 b4 04 02 08 0a 00 00 00 01 00 00 00 00 01 03 03 07'],
      [opts({ mss: 1460, hasTimestamp: true, tsVal: 5, tsEcr: 6 }), true, '02 04 05 b4 01 01 08 0a 00 00 00 05 00 00 00 06'],
      [opts({ mss: 536, sackPermitted: true }), true, '02 04 02 18 01 01 04 02'],
      [opts({ wscale: 0 }), true, '01 03 03 00'],
      [opts({ mss: 1460, sackPermitted: true, wscale: 7 }), false, ''],
      [opts({ hasTimestamp: true, tsVal: 0xffffffff, tsEcr: 1 }), false, '01 01 08 0a ff ff ff ff 00 00 00 01'],
      [opts({}, [1, 2, 3, 4, 5, 6, 7, 8]), false,
        '01 01 05 22 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00 05 00 00 00 06 00 00 00 07 00 00 00 08'],
      // SACK blocks that do not fit in 40 bytes are left out (2 fit after MSS + TS + wscale).
      [opts({ mss: 1460, hasTimestamp: true, tsVal: 1, tsEcr: 2, wscale: 7 }, [1, 2, 3, 4, 5, 6, 7, 8]), true,
        '02 04 05 b4 01 01 08 0a 00 00 00 01 00 00 00 02 01 03 03 07 01 01 05 12 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04'],
      [opts({ hasTimestamp: true, tsVal: 1, tsEcr: 2 }, [1, 2, 3, 4, 5, 6, 7, 8]), false,
        '01 01 08 0a 00 00 00 01 00 00 00 02 01 01 05 1a 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00 05 00 00 00 06'],
    ];
    for (const [o, syn, want] of cases) {
      const b = new Uint8Array(44);
      const n = writeTcpOptions(dataViewOf(b), 2, o, syn);
      assert.equal(n, tcpOptionsLen(o, syn));
      assert.equal(n % 4, 0);
      assert.equal(toHex(b.subarray(2, 2 + n)), want);
      assert.ok(b.subarray(2 + n).every((x) => x === 0));
    }
  });

  it('round-trips random segments (property)', () => {
    const u32 = fc.nat(0xffffffff);
    const arb = fc.record({
      srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), seq: u32, ack: u32, flags: fc.nat(255), window: fc.nat(0xffff),
      urgent: fc.nat(0xffff), mss: fc.integer({ min: -1, max: 0xffff }), wscale: fc.integer({ min: -1, max: 14 }),
      sackPermitted: fc.boolean(), hasTimestamp: fc.boolean(), tsVal: u32, tsEcr: u32,
      sacks: fc.array(u32, { maxLength: 8 }), payload: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(fc.property(arb, u32, u32, (g, src, dst) => {
      const syn = (g.flags & TCP_SYN) !== 0;
      const sacks = g.sacks.slice(0, (g.sacks.length >> 1) << 1);
      const o = opts({ mss: g.mss, wscale: g.wscale, sackPermitted: g.sackPermitted, hasTimestamp: g.hasTimestamp, tsVal: g.tsVal, tsEcr: g.tsEcr }, sacks);
      const r: TcpRepr = {
        srcPort: g.srcPort, dstPort: g.dstPort, seq: g.seq, ack: g.ack, flags: g.flags, window: g.window, urgent: g.urgent,
        options: o, payload: g.payload,
      };
      const b = emitted(r, src, dst);
      const v = view(b);
      assert.equal(v.check(), WIRE_OK);
      assert.ok(v.headerLen <= 60);
      assert.equal(v.verifyChecksum(src, dst), true);
      const p = parseTcpHeader(v);
      // Only the SACK blocks that fit in 40 option bytes are sent.
      const base = (syn && g.mss >= 0 ? 4 : 0) + (g.hasTimestamp ? 12 : syn && g.sackPermitted ? 4 : 0) + (syn && g.wscale >= 0 ? 4 : 0);
      const sent = sacks.slice(0, 2 * Math.min(4, Math.floor((40 - base - 4) / 8)));
      const wantOpts = opts({
        mss: syn ? g.mss : -1, wscale: syn ? g.wscale : -1, sackPermitted: syn && g.sackPermitted,
        // TS values parse to the int32 representation of sequence-space numbers (wire/seq.ts)
        hasTimestamp: g.hasTimestamp, tsVal: g.hasTimestamp ? g.tsVal | 0 : 0, tsEcr: g.hasTimestamp ? g.tsEcr | 0 : 0,
      }, sent);
      assert.deepEqual(plainOpts(p.options), plainOpts(wantOpts));
      assert.deepEqual({ ...p, options: null, payload: Array.from(p.payload) }, { ...r, options: null, payload: Array.from(r.payload) });
      assert.equal(toHex(emitted(p, src, dst)), toHex(b));
    }), { numRuns: 500 });
  });
});

describe('tcpFlagsToString', () => {
  it('prints tcpdump-style flags', () => {
    assert.equal(tcpFlagsToString(TCP_SYN), 'S');
    assert.equal(tcpFlagsToString(TCP_SYN | TCP_ACK), 'S.');
    assert.equal(tcpFlagsToString(TCP_PSH | TCP_ACK), 'P.');
    assert.equal(tcpFlagsToString(TCP_FIN | TCP_ACK), 'F.');
    assert.equal(tcpFlagsToString(TCP_FIN | TCP_PSH | TCP_ACK), 'FP.');
    assert.equal(tcpFlagsToString(TCP_RST), 'R');
    assert.equal(tcpFlagsToString(TCP_RST | TCP_ACK), 'R.');
    assert.equal(tcpFlagsToString(TCP_ACK), '.');
    assert.equal(tcpFlagsToString(TCP_SYN | TCP_ECE | TCP_CWR), 'SEW');
    assert.equal(tcpFlagsToString(TCP_ACK | TCP_URG), '.U');
    assert.equal(tcpFlagsToString(0), 'none');
  });
});
