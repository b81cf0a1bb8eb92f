// Test helpers for test/wire: hex <-> bytes and a naive reference checksum. Not a test file.

/** Bytes from hex text; whitespace is ignored. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  if (t.length % 2 !== 0) throw new Error(`odd hex length: ${t.length}`);
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Space-separated lower-case hex of bytes (for readable assertion diffs). */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Naive RFC 1071 sum of bytes [off, off+len) taken in pairs, folded after every add. */
export function naiveFoldedSum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) {
    const hi = b[off + i];
    const lo = i + 1 < len ? b[off + i + 1] : 0;
    s += (hi << 8) | lo;
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

/** Copy bytes into a larger ArrayBuffer at a non-zero byteOffset, to catch offset bugs. */
export function atOffset(b: Uint8Array, pad = 3): Uint8Array {
  const big = new Uint8Array(b.length + pad * 2);
  big.set(b, pad);
  return big.subarray(pad, pad + b.length);
}

/**
 * A Linux-style SYN, hand-assembled and checksummed with an independent implementation:
 * 02:00:00:00:00:01 > 02:00:00:00:00:02, 10.0.0.1.45678 > 10.0.0.2.80: Flags [S],
 * seq 0x12345678, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7],
 * IP id 0xbeef, DF, ttl 64, IP checksum 0x67ca, TCP checksum 0x1da1.
 */
export const SYN_FRAME = hex(`
  02 00 00 00 00 02 02 00 00 00 00 01 08 00
  45 00 00 3c be ef 40 00 40 06 67 ca 0a 00 00 01 0a 00 00 02
  b2 6e 00 50 12 34 56 78 00 00 00 00 a0 02 fa f0 1d a1 00 00
  02 04 05 b4 04 02 08 0a 00 00 00 01 00 00 00 00 01 03 03 07`);
