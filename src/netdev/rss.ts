/**
 * Receive-side scaling: the Toeplitz hash over the IPv4 4-tuple with a 40-byte key (the
 * well-known default key most drivers ship), and a 128-entry indirection table mapping
 * hash → rx queue (`ethtool -X equal N` fills it round-robin over queues 0..N-1).
 */

/** the default RSS key used by many drivers (Microsoft's verification key) */
export const DEFAULT_RSS_KEY = new Uint8Array([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

export const RSS_INDIR_SIZE = 128;

/** Toeplitz hash of 12 input bytes (src ip, dst ip, src port, dst port), or 8 without ports */
export class ToeplitzHasher {
  /** precomputed 32-bit key windows, one per input bit position */
  private readonly windows = new Uint32Array(96);

  constructor(key: Uint8Array = DEFAULT_RSS_KEY) {
    if (key.length < 16) throw new RangeError('RSS key too short');
    for (let bit = 0; bit < 96; bit++) {
      let w = 0;
      for (let k = 0; k < 32; k++) {
        const kb = bit + k;
        const byte = key[kb >> 3] ?? 0;
        w = (w << 1) | ((byte >> (7 - (kb & 7))) & 1);
      }
      this.windows[bit] = w >>> 0;
    }
  }

  private mix(h: number, word: number, bitBase: number): number {
    for (let b = 0; b < 32; b++) {
      if ((word >>> (31 - b)) & 1) h ^= this.windows[bitBase + b]!;
    }
    return h;
  }

  hashV4(src: number, dst: number, sport: number, dport: number, withPorts: boolean): number {
    let h = 0;
    h = this.mix(h, src, 0);
    h = this.mix(h, dst, 32);
    if (withPorts) h = this.mix(h, ((sport << 16) | dport) >>> 0, 64);
    return h >>> 0;
  }
}

/** fills `table` round-robin over queues 0..n-1 (ethtool -X equal n) */
export function fillIndirEqual(table: Int32Array, n: number): void {
  for (let i = 0; i < table.length; i++) table[i] = i % n;
}
