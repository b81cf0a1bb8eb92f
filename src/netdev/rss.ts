/**
 * Receive-side scaling: the Toeplitz hash (Microsoft RSS specification) over the IPv4 or IPv6
 * 2-tuple (addresses) or 4-tuple (addresses and ports), input in network byte order (source
 * address, destination address, source port, destination port), with a 40-byte key (the
 * well-known default key most drivers ship), and a 128-entry indirection table mapping
 * hash → rx queue (`ethtool -X equal N` fills it round-robin over queues 0..N-1).
 */
import type { Addr } from '../inet/index.js';

/** the default RSS key used by many drivers (Microsoft's verification key) */
export const DEFAULT_RSS_KEY = new Uint8Array([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

export const RSS_INDIR_SIZE = 128;

/** the longest hash input: IPv6 source and destination addresses and both ports */
const MAX_INPUT = 36;

/**
 * Toeplitz hash of up to 36 input bytes: IPv4 (src, dst[, sport, dport]) is 8 or 12 bytes, IPv6
 * 32 or 36. Precomputes, for each input byte position, the hash contribution of all 256 byte
 * values, so a hash is one table lookup per input byte. Keys shorter than the 40 bytes needed
 * for IPv6 input are padded with zero bits.
 */
export class ToeplitzHasher {
  private readonly table = new Uint32Array(MAX_INPUT * 256);

  constructor(key: Uint8Array = DEFAULT_RSS_KEY) {
    if (key.length < 16) throw new RangeError('RSS key too short');
    const windows = new Uint32Array(MAX_INPUT * 8);
    for (let bit = 0; bit < MAX_INPUT * 8; bit++) {
      let w = 0;
      for (let k = 0; k < 32; k++) {
        const kb = bit + k;
        const byte = key[kb >> 3] ?? 0;
        w = (w << 1) | ((byte >> (7 - (kb & 7))) & 1);
      }
      windows[bit] = w >>> 0;
    }
    for (let pos = 0; pos < MAX_INPUT; pos++) {
      for (let v = 0; v < 256; v++) {
        let h = 0;
        for (let b = 0; b < 8; b++) if ((v >> (7 - b)) & 1) h ^= windows[pos * 8 + b]!;
        this.table[pos * 256 + v] = h >>> 0;
      }
    }
  }

  private word(h: number, w: number, pos: number): number {
    const t = this.table;
    return h ^ t[pos * 256 + (w >>> 24)]! ^ t[(pos + 1) * 256 + ((w >>> 16) & 0xff)]! ^
      t[(pos + 2) * 256 + ((w >>> 8) & 0xff)]! ^ t[(pos + 3) * 256 + (w & 0xff)]!;
  }

  /** IPv4: `src`/`dst` are the IPv4 numbers */
  hashV4(src: number, dst: number, sport: number, dport: number, withPorts: boolean): number {
    let h = this.word(0, src, 0);
    h = this.word(h, dst, 4);
    if (withPorts) h = this.word(h, ((sport << 16) | dport) >>> 0, 8);
    return h >>> 0;
  }

  /** IPv6: the 16-byte addresses, then the ports */
  hashV6(src: Addr, dst: Addr, sport: number, dport: number, withPorts: boolean): number {
    let h = this.word(0, src.w0, 0);
    h = this.word(h, src.w1, 4);
    h = this.word(h, src.w2, 8);
    h = this.word(h, src.w3, 12);
    h = this.word(h, dst.w0, 16);
    h = this.word(h, dst.w1, 20);
    h = this.word(h, dst.w2, 24);
    h = this.word(h, dst.w3, 28);
    if (withPorts) h = this.word(h, ((sport << 16) | dport) >>> 0, 32);
    return h >>> 0;
  }

  /** by family: IPv4 addresses (v4-mapped `Addr`s) hash as 4-byte addresses */
  hash(family: 4 | 6, src: Addr, dst: Addr, sport: number, dport: number, withPorts: boolean): number {
    return family === 4 ? this.hashV4(src.w3, dst.w3, sport, dport, withPorts) : this.hashV6(src, dst, sport, dport, withPorts);
  }
}

/** fills `table` round-robin over queues 0..n-1 (ethtool -X equal n) */
export function fillIndirEqual(table: Int32Array, n: number): void {
  for (let i = 0; i < table.length; i++) table[i] = i % n;
}
