/**
 * Seeded randomness: xoshiro128** seeded through splitmix32. Every consumer (ISNs, ephemeral
 * ports, fault injection) takes an `Rng`; `fork(label)` derives an independent stream so that
 * adding a consumer does not shift the others' sequences. Imports nothing.
 *
 * Two kinds of root: `new Rng(seed)` (a 32-bit seed: same seed, same streams — simulations and
 * tests) and `Rng.fromKey(key)` (a 128-bit key the caller draws from a cryptographic source:
 * real-time networks without an explicit seed, so ISNs, ephemeral ports and secrets differ on
 * every run). A keyed generator forks keyed children (all 128 bits mixed with the label), so no
 * stream of it is reachable from 32 bits.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;
  /** the 128-bit key of a keyed generator (`fromKey`), else null */
  private key: Uint32Array | null = null;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    const st = { s: this.seed };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /**
   * A generator keyed by 16 bytes (at least) of `key`, meant to come from a cryptographic
   * source (`crypto.randomBytes(16)`). Each 32-bit key word is whitened through splitmix32 so
   * that related keys give unrelated states; `seed` is the first key word (for display only).
   */
  static fromKey(key: Uint8Array): Rng {
    if (key.length < 16) throw new RangeError('Rng.fromKey needs 16 key bytes');
    const k = new Uint32Array(4);
    for (let i = 0; i < 4; i++) k[i] = (key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24)) >>> 0;
    return Rng.keyed(k);
  }

  private static keyed(k: Uint32Array): Rng {
    const r = new Rng(k[0]!);
    r.key = k;
    r.a = splitmix32({ s: k[0]! ^ 0x243f6a88 });
    r.b = splitmix32({ s: k[1]! ^ 0x85a308d3 });
    r.c = splitmix32({ s: k[2]! ^ 0x13198a2e });
    r.d = splitmix32({ s: k[3]! ^ 0x03707344 });
    if ((r.a | r.b | r.c | r.d) === 0) r.a = 1;
    return r;
  }

  /** true for a generator made by `fromKey` (or forked from one) */
  get keyed(): boolean {
    return this.key !== null;
  }

  /** uniform uint32 */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** uniform in [0, 1) with 32 bits of precision */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** uniform integer in [0, n) */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** true with probability p */
  chance(p: number): boolean {
    return p > 0 && this.nextFloat() < p;
  }

  /** an independent generator derived from this one's seed and `label` */
  fork(label: string): Rng {
    const k = this.key;
    if (k === null) return new Rng((this.seed ^ hashLabel(label)) >>> 0);
    // keyed: every key word is mixed with the label (a different constant per word)
    const h = hashLabel(label);
    const c = new Uint32Array(4);
    for (let i = 0; i < 4; i++) c[i] = splitmix32({ s: (k[i]! ^ Math.imul(h, 2 * i + 1) ^ (i * 0x9e3779b9)) | 0 });
    return Rng.keyed(c);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
