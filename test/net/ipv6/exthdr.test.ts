import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../../src/inet/index.js';
import {
  Hub, MAC_A, MAC_B, concat, ethHeader, hex, icmp6, inject, ip6, naiveCsum, parseFrame, pseudo, runFor, toHex, udp6,
  type Host6, receiverB,
} from './harness6.js';

const A = '2001:db8::a';
const B = '2001:db8::b';

const setup = (): ReturnType<typeof receiverB> => receiverB();

const UDP = udp6(A, B, 1000, 2000, hex('68 65 6c 6c 6f'));

/** sends an IPv6 packet from A to B (or `dst`) carrying `payload` behind next header `nh` */
function send(h: Host6, nh: number, payload: Uint8Array, o: { dst?: string; src?: string; ethDst?: number; plen?: number; vtf0?: number } = {}): void {
  inject(h, concat(ethHeader(o.ethDst ?? MAC_B, MAC_A), ip6({ src: o.src ?? A, dst: o.dst ?? B, nh, plen: o.plen, vtf0: o.vtf0 }, payload)));
}

/** the ICMPv6 errors B sent: [type, code, pointer] */
function errors(hub: Hub): number[][] {
  return hub.from('B').map((f) => parseFrame(f.bytes)).filter((f) => f.nh === 58 && f.payload[0]! < 128)
    .map((f) => [f.payload[0]!, f.payload[1]!, new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(4)]);
}

/** hop-by-hop / destination options header with raw option bytes (length must make a multiple of 8) */
function opts(next: number, optBytes: string): Uint8Array {
  const o = hex(optBytes);
  const total = 2 + o.length;
  assert.equal(total % 8, 0, 'test header not a multiple of 8');
  return concat(Uint8Array.of(next, total / 8 - 1), o);
}

describe('IPv6 input: header checks and martians', () => {
  it('delivers a plain UDP datagram with family 6 meta', () => {
    const { b, rec } = setup();
    send(b, 17, UDP);
    assert.equal(rec.got.length, 1);
    assert.deepEqual({ ...rec.got[0]!, bytes: toHex(rec.got[0]!.bytes) }, { src: A, dst: B, family: 6, tos: 0, ttl: 64, bytes: toHex(UDP), linkBcast: false });
    assert.equal(b.v6.stats.inDelivers, 1);
  });

  it('trims link padding, counts truncation, bad versions and martians', () => {
    const { b, rec } = setup();
    const st = b.v6.stats;
    inject(b, concat(ethHeader(MAC_B, MAC_A), ip6({ src: A, dst: B, nh: 17 }, UDP), new Uint8Array(6)));
    assert.equal(rec.got[0]!.bytes.length, UDP.length);
    send(b, 17, UDP, { plen: UDP.length + 1 });
    assert.equal(st.inTruncatedPkts, 1);
    send(b, 17, UDP, { vtf0: 0x40 });
    assert.equal(st.inHdrErrors, 1);
    inject(b, concat(ethHeader(MAC_B, MAC_A), new Uint8Array(30).fill(0x60)));
    assert.equal(st.inHdrErrors, 2);
    send(b, 17, UDP, { src: 'ff02::1' });
    send(b, 17, UDP, { dst: '::1' });
    send(b, 17, UDP, { src: '::1' });
    send(b, 17, UDP, { dst: '2001:db8::99' });
    send(b, 17, UDP, { dst: 'ff00::1', ethDst: 0x333300000001 });
    send(b, 17, UDP, { dst: 'ff01::1', ethDst: 0x333300000001 });
    assert.equal(st.inAddrErrors, 6);
    send(b, 17, UDP, { dst: 'ff02::1:ff00:99', ethDst: 0x3333ff000099 });
    assert.equal(st.inMcastNotJoined, 1);
    assert.equal(rec.got.length, 1);
    // all-nodes and our solicited-node group are joined
    send(b, 17, udp6(A, 'ff02::1', 1, 2, new Uint8Array(0)), { dst: 'ff02::1', ethDst: 0x333300000001 });
    assert.equal(rec.got.length, 2);
    assert.equal(rec.got[1]!.linkBcast, true);
    assert.equal(b.skbs.live, 0);
  });
});

describe('IPv6 extension headers (RFC 8200 §4)', () => {
  it('hop-by-hop with Pad1/PadN and router alert, destination options, then UDP', () => {
    const { b, rec } = setup();
    send(b, 0, concat(opts(60, '05 02 00 00 00 01 00'.replace('00 01 00', '01 00')), opts(17, '00 00 00 00 01 00'), UDP));
    assert.equal(rec.got.length, 1);
    assert.equal(toHex(rec.got[0]!.bytes), toHex(UDP));
  });

  it('a hop-by-hop header after the first position is an unknown next header (code 1 at its field)', () => {
    const { hub, b, rec } = setup();
    send(b, 60, concat(opts(0, '01 04 00 00 00 00'), opts(17, '01 04 00 00 00 00'), UDP));
    assert.equal(rec.got.length, 0);
    assert.deepEqual(errors(hub), [[4, 1, 40]]);
    assert.equal(b.v6.stats.inUnknownProtos, 1);
  });

  it('unknown options: 00 skip, 01 drop, 10 param problem code 2, 11 the same unless multicast', () => {
    const { hub, b, rec } = setup();
    const st = b.v6.stats;
    send(b, 60, concat(opts(17, '1e 00 01 02 00 00'), UDP));
    assert.equal(rec.got.length, 1);
    send(b, 60, concat(opts(17, '5e 00 01 02 00 00'), UDP));
    assert.equal(rec.got.length, 1);
    assert.deepEqual(errors(hub), []);
    send(b, 60, concat(opts(17, '01 00 9e 00 00 00'), UDP));
    assert.deepEqual(errors(hub), [[4, 2, 44]]);
    send(b, 60, concat(opts(17, 'de 00 01 02 00 00'), UDP));
    assert.deepEqual(errors(hub), [[4, 2, 44], [4, 2, 42]]);
    // to a multicast group: 11 is silent, 10 still answers (RFC 4443 §2.4 (e.3) exception)
    const mc = { dst: 'ff02::1', ethDst: 0x333300000001 };
    send(b, 60, concat(opts(17, 'de 00 01 02 00 00'), udp6(A, 'ff02::1', 1, 2, new Uint8Array(0))), mc);
    assert.equal(errors(hub).length, 2);
    send(b, 60, concat(opts(17, '9e 00 01 02 00 00'), udp6(A, 'ff02::1', 1, 2, new Uint8Array(0))), mc);
    assert.deepEqual(errors(hub)[2], [4, 2, 42]);
    assert.equal(rec.got.length, 1);
    assert.equal(st.inHdrErrors, 5);
  });

  it('malformed options are dropped silently: PadN with data, too much padding, overrun, too many options', () => {
    const { hub, b, rec } = setup();
    send(b, 60, concat(opts(17, '01 04 00 00 01 00'), UDP));
    send(b, 60, concat(opts(17, '00 00 00 00 00 00 00 00 00 00 00 00 00 00'), UDP));
    send(b, 60, concat(opts(17, '1e 09 00 00 00 00'), UDP));
    // nine router-alert-sized skip options in one header (2 + 9*4 = 38 -> pad to 40 with PadN 0)
    send(b, 60, concat(opts(17, '1e 02 00 00 '.repeat(9) + '01 00'), UDP));
    assert.equal(rec.got.length, 0);
    assert.equal(b.v6.stats.inHdrErrors, 4);
    assert.deepEqual(errors(hub), []);
    // eight options are fine
    send(b, 60, concat(opts(17, '1e 02 00 00 '.repeat(8) + '01 04 00 00 00 00'), UDP));
    assert.equal(rec.got.length, 1);
  });

  it('routing header: segments left 0 is ignored whatever the type; otherwise code 0 at the type field', () => {
    const { hub, b, rec } = setup();
    send(b, 43, concat(hex('11 00 fd 00 00 00 00 00'), UDP));
    send(b, 43, concat(hex('11 00 00 00 00 00 00 00'), UDP));
    assert.equal(rec.got.length, 2);
    send(b, 43, concat(hex('11 00 fd 01 00 00 00 00'), UDP));
    send(b, 60, concat(opts(43, '01 04 00 00 00 00'), hex('11 02 00 02 00 00 00 00'), new Uint8Array(16), UDP));
    assert.deepEqual(errors(hub), [[4, 0, 42], [4, 0, 50]]);
    assert.equal(rec.got.length, 2);
  });

  it('unknown next header: parameter problem code 1 pointing at the field, byte-exact; none for multicast', () => {
    const { hub, b } = setup();
    const pkt = ip6({ src: A, dst: B, nh: 253 }, hex('de ad be ef'));
    inject(b, concat(ethHeader(MAC_B, MAC_A), pkt));
    assert.equal(hub.frames.length, 1);
    const msg = icmp6(B, A, 4, 1, concat(hex('00 00 00 06'), pkt));
    assert.equal(naiveCsum(pseudo(B, A, 58, msg.length), msg), 0);
    assert.equal(toHex(hub.frames[0]!.bytes), toHex(concat(ethHeader(MAC_A, MAC_B), ip6({ src: B, dst: A, nh: 58 }, msg))));
    // behind a destination options header the pointer is that header's next-header field
    send(b, 60, concat(opts(253, '01 04 00 00 00 00'), hex('00')));
    assert.deepEqual(errors(hub)[1], [4, 1, 40]);
    send(b, 253, hex('00'), { dst: 'ff02::1', ethDst: 0x333300000001 });
    assert.equal(errors(hub).length, 2);
    assert.equal(b.v6.stats.inUnknownProtos, 3);
  });

  it('truncated and malformed chains: header past the end, length past the end, too many headers, no next header', () => {
    const { hub, b, rec } = setup();
    const st = b.v6.stats;
    send(b, 60, hex('11 00 01 04'));
    send(b, 60, concat(hex('11 01 01 04 00 00 00 00'), UDP.subarray(0, 4)));
    send(b, 43, hex('11 00 00'));
    send(b, 44, hex('11 00 00'));
    assert.equal(st.inHdrErrors, 4);
    let chain: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 17; i++) chain = concat(chain, opts(i === 16 ? 17 : 60, '01 04 00 00 00 00'));
    send(b, 60, concat(chain, UDP));
    assert.equal(st.inHdrErrors, 5);
    // sixteen are accepted
    send(b, 60, concat(chain.subarray(8), UDP));
    assert.equal(rec.got.length, 1);
    send(b, 59, hex('01 02 03'));
    assert.equal(errors(hub).length, 0);
    assert.equal(b.skbs.live, 0);
  });

  it('an atomic fragment (offset 0, M clear) is delivered as a whole datagram (RFC 6946)', () => {
    const { b, rec } = setup();
    send(b, 44, concat(hex('11 00 00 00 12 34 56 78'), UDP));
    assert.equal(rec.got.length, 1);
    assert.equal(toHex(rec.got[0]!.bytes), toHex(UDP));
    assert.equal(b.v6.reasm.count, 0);
  });

  it('never an error about an ICMPv6 error; errors about informational messages are fine', () => {
    const { hub, b } = setup();
    const err = icmp6(A, B, 1, 4, new Uint8Array(52));
    send(b, 60, concat(opts(58, '9e 00 01 02 00 00'), err));
    assert.deepEqual(errors(hub), []);
    const echo = icmp6(A, B, 128, 0, hex('00 01 00 01'));
    send(b, 60, concat(opts(58, '9e 00 01 02 00 00'), echo));
    assert.deepEqual(errors(hub), [[4, 2, 42]]);
  });

  it('rate limits errors per destination: burst 6, then one per interval scaled by the route (/64: 250 ms)', () => {
    const { sched, hub, b } = setup();
    for (let i = 0; i < 10; i++) send(b, 253, hex('00'));
    assert.equal(errors(hub).length, 6);
    assert.equal(b.v6.stats.icmp.outRateLimitHost, 4);
    runFor(sched, 249_000);
    send(b, 253, hex('00'));
    assert.equal(errors(hub).length, 6);
    runFor(sched, 1_000);
    send(b, 253, hex('00'));
    assert.equal(errors(hub).length, 7);
    // another destination has its own bucket
    b.v6.addNeighbour(b.dev, InetAddr.parse('2001:db8::c'), 0x02000000000c);
    send(b, 253, hex('00'), { src: '2001:db8::c' });
    assert.equal(errors(hub).length, 8);
  });
});
