/**
 * Family-neutral IP addresses.
 *
 * Contract: every address, IPv4 or IPv6, is four unsigned 32-bit words `w0..w3` in network order
 * (`2001:db8::1` is w0 = 0x20010db8, w1 = 0, w2 = 0, w3 = 1). An IPv4 address is stored
 * v4-mapped (`::ffff:a.b.c.d`: w0 = w1 = 0, w2 = 0x0000ffff, w3 = the IPv4 number), as Linux
 * stores `skc_v6_daddr`, so one comparison, one hash and one table serve both families; its
 * `family` is 4. The IPv4 wildcard `0.0.0.0` is `::ffff:0.0.0.0` (family 4) and the IPv6
 * wildcard `::` is all zero (family 6): a socket bound to either is told apart by family.
 *
 * `InetAddr` values are immutable and may be shared and kept. `MutAddr` is a scratch address
 * that the packet path fills from a header without allocating; it must not be kept — copy it
 * with `InetAddr.from` (a cold path: connection setup, routes, configuration). Functions that
 * only read take the `Addr` interface, so both kinds work everywhere.
 */

/** the four words of an address (read-only view shared by `InetAddr` and `MutAddr`) */
export interface Addr {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}

const V4_MAPPED_W2 = 0x0000ffff;

/** true when `a` is an IPv4 address (v4-mapped form) */
export function isV4(a: Addr): boolean {
  return a.w0 === 0 && a.w1 === 0 && a.w2 === V4_MAPPED_W2;
}

/** 4 or 6 */
export function familyOf(a: Addr): 4 | 6 {
  return isV4(a) ? 4 : 6;
}

export function addrEquals(a: Addr, b: Addr): boolean {
  return a.w3 === b.w3 && a.w2 === b.w2 && a.w1 === b.w1 && a.w0 === b.w0;
}

/** the wildcard of its family (`0.0.0.0` or `::`) */
export function isUnspecified(a: Addr): boolean {
  return a.w3 === 0 && a.w1 === 0 && a.w0 === 0 && (a.w2 === 0 || a.w2 === V4_MAPPED_W2);
}

/** 127.0.0.0/8 or ::1 */
export function isLoopback(a: Addr): boolean {
  if (isV4(a)) return a.w3 >>> 24 === 127;
  return a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && a.w3 === 1;
}

/** 224.0.0.0/4 or ff00::/8 */
export function isMulticast(a: Addr): boolean {
  if (isV4(a)) return a.w3 >>> 28 === 0xe;
  return a.w0 >>> 24 === 0xff;
}

/** fe80::/10 (IPv6 only) */
export function isLinkLocal(a: Addr): boolean {
  return (a.w0 & 0xffc00000) === (0xfe800000 | 0);
}

/** 32-bit mixing hash of an address with a seed (allocation-free; jhash-like final mix) */
export function addrHash(a: Addr, seed: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = mix(h, a.w0);
  h = mix(h, a.w1);
  h = mix(h, a.w2);
  h = mix(h, a.w3);
  return fmix(h);
}

/** one step of a Murmur3-style word mix (exported for flow hashes) */
export function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

/** Murmur3 finaliser */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** true when the first `prefixLen` bits of `a` and `b` agree (prefix over the 128-bit form) */
export function prefixMatch(a: Addr, b: Addr, prefixLen: number): boolean {
  let left = prefixLen;
  const wa = [a.w0, a.w1, a.w2, a.w3];
  const wb = [b.w0, b.w1, b.w2, b.w3];
  for (let i = 0; i < 4 && left > 0; i++) {
    const bits = left >= 32 ? 32 : left;
    const mask = bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
    if (((wa[i]! ^ wb[i]!) & mask) !== 0) return false;
    left -= bits;
  }
  return true;
}

/** IPv4 prefix match without allocation (`a`, `b` IPv4 numbers, `len` 0..32) */
export function prefixMatchV4(a: number, b: number, len: number): boolean {
  if (len === 0) return true;
  const mask = len === 32 ? 0xffffffff : ~(0xffffffff >>> len);
  return ((a ^ b) & mask) === 0;
}

function hex4(n: number): string {
  return n.toString(16);
}

/** RFC 5952 text of an address (IPv4 as dotted quad) */
export function addrToString(a: Addr): string {
  if (isV4(a)) {
    const v = a.w3 >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  const g = [a.w0 >>> 16, a.w0 & 0xffff, a.w1 >>> 16, a.w1 & 0xffff, a.w2 >>> 16, a.w2 & 0xffff, a.w3 >>> 16, a.w3 & 0xffff];
  // longest run of ≥ 2 zero groups, first one on ties (RFC 5952 §4.2)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return g.map(hex4).join(':');
  const head = g.slice(0, best).map(hex4).join(':');
  const tail = g.slice(best + bestLen).map(hex4).join(':');
  return `${head}::${tail}`;
}

function parseV4Text(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let a = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    a = a * 256 + n;
  }
  return a >>> 0;
}

/** parses IPv6 text into 8 groups, or null (accepts a trailing dotted quad; no zone ids) */
function parseV6Groups(s: string): number[] | null {
  if (s.length === 0 || s.length > 45) return null;
  let groups: number[] = [];
  let tailText = s;
  let headText = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    headText = s.slice(0, dbl);
    tailText = s.slice(dbl + 2);
  }
  const parsePart = (t: string, allowV4: boolean): number[] | null => {
    if (t === '') return [];
    const out: number[] = [];
    const items = t.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (allowV4 && i === items.length - 1 && it.includes('.')) {
        const v4 = parseV4Text(it);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
      out.push(parseInt(it, 16));
    }
    return out;
  };
  if (dbl >= 0) {
    const head = parsePart(headText, false);
    const tail = parsePart(tailText, true);
    if (head === null || tail === null) return null;
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    const all = parsePart(s, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  return groups.length === 8 ? groups : null;
}

/** An immutable IPv4 or IPv6 address (see the module contract). */
export class InetAddr implements Addr {
  /** `0.0.0.0` (IPv4 wildcard, v4-mapped) */
  static readonly ANY4 = new InetAddr(0, 0, V4_MAPPED_W2, 0);
  /** `::` (IPv6 wildcard) */
  static readonly ANY6 = new InetAddr(0, 0, 0, 0);
  static readonly LOOPBACK4 = new InetAddr(0, 0, V4_MAPPED_W2, 0x7f000001);
  static readonly LOOPBACK6 = new InetAddr(0, 0, 0, 1);

  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;

  private constructor(w0: number, w1: number, w2: number, w3: number) {
    this.w0 = w0 >>> 0;
    this.w1 = w1 >>> 0;
    this.w2 = w2 >>> 0;
    this.w3 = w3 >>> 0;
  }

  /** from four words (network order) */
  static of(w0: number, w1: number, w2: number, w3: number): InetAddr {
    return new InetAddr(w0, w1, w2, w3);
  }

  /** an IPv4 address from its uint32 number */
  static v4(n: number): InetAddr {
    return new InetAddr(0, 0, V4_MAPPED_W2, n);
  }

  /** an immutable copy of any address (a `MutAddr` filled by the packet path, say) */
  static from(a: Addr): InetAddr {
    return a instanceof InetAddr ? a : new InetAddr(a.w0, a.w1, a.w2, a.w3);
  }

  /** from 4 (IPv4) or 16 (IPv6) bytes */
  static fromBytes(b: Uint8Array, off = 0, len: 4 | 16 = 16): InetAddr {
    const w = (i: number): number => ((b[off + i]! << 24) | (b[off + i + 1]! << 16) | (b[off + i + 2]! << 8) | b[off + i + 3]!) >>> 0;
    if (len === 4) return InetAddr.v4(w(0));
    return new InetAddr(w(0), w(4), w(8), w(12));
  }

  /**
   * Parses IPv4 dotted-quad or IPv6 text (RFC 4291 §2.2 forms, including `::ffff:a.b.c.d`,
   * which yields the IPv4 address). Returns null on malformed text.
   */
  static tryParse(s: string): InetAddr | null {
    const v4 = parseV4Text(s);
    if (v4 !== null) return InetAddr.v4(v4);
    const g = parseV6Groups(s);
    if (g === null) return null;
    return new InetAddr((g[0]! << 16) | g[1]!, (g[2]! << 16) | g[3]!, (g[4]! << 16) | g[5]!, (g[6]! << 16) | g[7]!);
  }

  /** like `tryParse`, but throws TypeError on malformed text (text is configuration) */
  static parse(s: string): InetAddr {
    const a = InetAddr.tryParse(s);
    if (a === null) throw new TypeError(`invalid IP address: ${JSON.stringify(s)}`);
    return a;
  }

  get family(): 4 | 6 {
    return familyOf(this);
  }

  /** the IPv4 number (meaningful when `family === 4`) */
  get v4(): number {
    return this.w3;
  }

  equals(b: Addr): boolean {
    return addrEquals(this, b);
  }

  /** 16 bytes (v4-mapped for IPv4) or, with `asV4`, the 4 IPv4 bytes */
  toBytes(asV4 = false): Uint8Array {
    if (asV4) return new Uint8Array([this.w3 >>> 24, (this.w3 >>> 16) & 0xff, (this.w3 >>> 8) & 0xff, this.w3 & 0xff]);
    const out = new Uint8Array(16);
    writeAddr(new DataView(out.buffer), 0, this);
    return out;
  }

  toString(): string {
    return addrToString(this);
  }
}

/** A scratch address filled on the packet path; never keep one (copy with `InetAddr.from`). */
export class MutAddr implements Addr {
  w0 = 0;
  w1 = 0;
  w2 = V4_MAPPED_W2;
  w3 = 0;

  /** sets an IPv4 address */
  setV4(n: number): this {
    this.w0 = 0;
    this.w1 = 0;
    this.w2 = V4_MAPPED_W2;
    this.w3 = n >>> 0;
    return this;
  }

  set(a: Addr): this {
    this.w0 = a.w0;
    this.w1 = a.w1;
    this.w2 = a.w2;
    this.w3 = a.w3;
    return this;
  }

  /** reads 16 bytes of an IPv6 address at `off` */
  readV6(dv: DataView, off: number): this {
    this.w0 = dv.getUint32(off);
    this.w1 = dv.getUint32(off + 4);
    this.w2 = dv.getUint32(off + 8);
    this.w3 = dv.getUint32(off + 12);
    return this;
  }

  /** reads 4 bytes of an IPv4 address at `off` */
  readV4(dv: DataView, off: number): this {
    return this.setV4(dv.getUint32(off));
  }
}

/** writes the 16-byte form of `a` at `off` (v4-mapped for IPv4) */
export function writeAddr(dv: DataView, off: number, a: Addr): void {
  dv.setUint32(off, a.w0);
  dv.setUint32(off + 4, a.w1);
  dv.setUint32(off + 8, a.w2);
  dv.setUint32(off + 12, a.w3);
}

/** parses `addr/len` (v4 or v6); the prefix length defaults to the full width */
export function parseCidr(s: string): { addr: InetAddr; prefixLen: number } {
  const slash = s.indexOf('/');
  const addr = InetAddr.parse(slash < 0 ? s : s.slice(0, slash));
  const max = addr.family === 4 ? 32 : 128;
  let prefixLen = max;
  if (slash >= 0) {
    const t = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(t) || Number(t) > max) throw new TypeError(`invalid prefix length: ${JSON.stringify(s)}`);
    prefixLen = Number(t);
  }
  return { addr, prefixLen };
}
