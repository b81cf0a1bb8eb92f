// virtio_net_hdr_v1 encode/decode byte-exact against hand-written fixtures, malformed headers
// refused, and the multi-queue tx queue choice (stable per flow, spread over queues). No device.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { FrameMeta } from '../../src/link/frame-link.js';
import { decodeVnetHdr, encodeVnetHdr, newFrameMeta, txQueueOf, vnetHdrIsPlain, VNET_HDR_LEN } from '../../src/link/tap/index.js';

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('virtio_net_hdr', () => {
  it('decodes a kernel TSO super-frame header (tcpv4, NEEDS_CSUM), little-endian fields', () => {
    // flags=1 gso=1 hdr_len=66 gso_size=1448 csum_start=34 csum_offset=16 num_buffers=0
    const b = Uint8Array.from(Buffer.from('0101' + '4200' + 'a805' + '2200' + '1000' + '0000', 'hex'));
    const m = newFrameMeta();
    assert.equal(decodeVnetHdr(b, 0, 64000, m), true);
    assert.deepEqual(m, { gsoType: 'tcpv4', hdrLen: 66, gsoSize: 1448, needsCsum: true, csumStart: 34, csumOffset: 16, dataValid: false });
    assert.equal(vnetHdrIsPlain(b, 0), false);
  });

  it('decodes tcpv6 with the ECN bit, udp, and DATA_VALID; honours the offset', () => {
    const m = newFrameMeta();
    const b = Uint8Array.from(Buffer.from('ff' + '0184' + '5600' + '0004' + '3600' + '1000' + '0000', 'hex'));
    assert.equal(decodeVnetHdr(b, 1, 9000, m), true);
    assert.equal(m.gsoType, 'tcpv6');
    assert.equal(m.hdrLen, 0x56);
    assert.equal(m.gsoSize, 1024);
    const u = Uint8Array.from(Buffer.from('0003' + '2a00' + 'dc05' + '0000' + '0000' + '0000', 'hex'));
    assert.equal(decodeVnetHdr(u, 0, 3000, m), true);
    assert.equal(m.gsoType, 'udp');
    assert.equal(m.needsCsum, false);
    const dv = Uint8Array.from(Buffer.from('0200' + '0000' + '0000' + '0000' + '0000' + '0000', 'hex'));
    assert.equal(decodeVnetHdr(dv, 0, 60, m), true);
    assert.deepEqual(m, { gsoType: 'none', hdrLen: 0, gsoSize: 0, needsCsum: false, csumStart: 0, csumOffset: 0, dataValid: true });
    assert.equal(vnetHdrIsPlain(dv, 0), false);
    assert.equal(vnetHdrIsPlain(new Uint8Array(12), 0), true);
  });

  it('refuses malformed headers: unknown gso type, gso without gso_size, unknown flags, checksum field past the frame', () => {
    const m = newFrameMeta();
    const bad = [
      '0002' + '0000' + 'dc05' + '0000' + '0000' + '0000', // gso type 2 (unassigned)
      '0005' + '0000' + 'dc05' + '0000' + '0000' + '0000', // UDP_L4 (USO): never negotiated
      '0001' + '3600' + '0000' + '0000' + '0000' + '0000', // tcpv4, gso_size 0
      '0800' + '0000' + '0000' + '0000' + '0000' + '0000', // unknown flag bit 3
      '0100' + '0000' + '0000' + '2200' + '1000' + '0000', // csum at 34+16 (+2) > 50-byte frame
    ];
    for (const h of bad) assert.equal(decodeVnetHdr(Uint8Array.from(Buffer.from(h, 'hex')), 0, 50, m), false, h);
    // exactly fits: field at 34+16, 2 bytes, frame 52
    assert.equal(decodeVnetHdr(Uint8Array.from(Buffer.from('0100' + '0000' + '0000' + '2200' + '1000' + '0000', 'hex')), 0, 52, m), true);
  });

  it('encodes byte-exact, null meta as 12 zero bytes, and round-trips', () => {
    const b = new Uint8Array(14).fill(0xee);
    const meta: FrameMeta = { gsoType: 'tcpv6', hdrLen: 86, gsoSize: 8940, needsCsum: true, csumStart: 54, csumOffset: 16, dataValid: false };
    encodeVnetHdr(meta, b, 1);
    assert.equal(hex(b), 'ee' + '0104' + '5600' + 'ec22' + '3600' + '1000' + '0000' + 'ee');
    encodeVnetHdr(null, b, 1);
    assert.equal(hex(b), 'ee' + '00'.repeat(VNET_HDR_LEN) + 'ee');
    encodeVnetHdr({ gsoType: 'none', hdrLen: 0, gsoSize: 0, needsCsum: false, csumStart: 0, csumOffset: 0, dataValid: true }, b, 1);
    assert.equal(hex(b.subarray(1, 13)), '02' + '00'.repeat(11));
    for (const gsoType of ['none', 'tcpv4', 'tcpv6', 'udp'] as const) {
      const m: FrameMeta = { gsoType, hdrLen: 0x1234, gsoSize: gsoType === 'none' ? 0 : 0xabcd, needsCsum: true, csumStart: 0x0102, csumOffset: 6, dataValid: true };
      const out = new Uint8Array(12);
      encodeVnetHdr(m, out, 0);
      const back = newFrameMeta();
      assert.equal(decodeVnetHdr(out, 0, 0x0102 + 8, back), true);
      assert.deepEqual(back, m);
    }
  });
});

describe('txQueueOf (multi-queue tap)', () => {
  function tcp4(sport: number, dport: number, frag = 0): Uint8Array {
    const f = new Uint8Array(14 + 20 + 20);
    f[12] = 0x08; f[13] = 0x00;
    f[14] = 0x45; f[14 + 9] = 6;
    f[14 + 6] = frag >> 8; f[14 + 7] = frag & 0xff;
    f.set([10, 0, 0, 1, 10, 0, 0, 2], 14 + 12);
    f[34] = sport >> 8; f[35] = sport & 0xff; f[36] = dport >> 8; f[37] = dport & 0xff;
    return f;
  }
  it('is stable per flow, within range, and spreads flows over the queues', () => {
    const seen = new Set<number>();
    for (let p = 1000; p < 1064; p++) {
      const q = txQueueOf(tcp4(p, 80), 4);
      assert.ok(q >= 0 && q < 4);
      assert.equal(txQueueOf(tcp4(p, 80), 4), q);
      seen.add(q);
    }
    assert.equal(seen.size, 4);
  });
  it('sends single-queue links, runts, non-IP and fragments (ports unread) predictably', () => {
    assert.equal(txQueueOf(tcp4(1, 2), 1), 0);
    assert.equal(txQueueOf(new Uint8Array(10), 4), 0);
    const arp = new Uint8Array(42); arp[12] = 0x08; arp[13] = 0x06;
    assert.equal(txQueueOf(arp, 4), 0);
    // a non-first fragment hashes on addresses only: the same queue whatever bytes sit where ports would be
    assert.equal(txQueueOf(tcp4(1, 2, 0x20), 8), txQueueOf(tcp4(3, 4, 0x20), 8));
    const trunc = tcp4(1, 2).subarray(0, 30); // IPv4 header cut short
    assert.equal(txQueueOf(trunc, 4), 0);
  });
});
