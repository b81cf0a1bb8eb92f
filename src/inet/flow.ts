/**
 * Flow keys: the 5-tuple of a transport flow, filled on the packet path without allocating, and
 * the seeded hash that tables, RSS-like spreading and RFC 6056 port selection use.
 *
 * Contract: a `FlowKey` is scratch (its addresses are `MutAddr`s); `flowHash` is a pure function
 * of the key's fields and the seed, symmetric in nothing (src and dst are ordered).
 */
import { MutAddr, fmix, mix, type Addr } from './addr.js';

export class FlowKey {
  /** IP protocol number (6 TCP, 17 UDP, …) */
  proto = 0;
  readonly src = new MutAddr();
  readonly dst = new MutAddr();
  sport = 0;
  dport = 0;

  set(proto: number, src: Addr, sport: number, dst: Addr, dport: number): this {
    this.proto = proto;
    this.src.set(src);
    this.dst.set(dst);
    this.sport = sport;
    this.dport = dport;
    return this;
  }
}

/** 32-bit seeded hash of a 5-tuple given as fields (allocation-free) */
export function tupleHash(seed: number, proto: number, src: Addr, sport: number, dst: Addr, dport: number): number {
  let h = (seed ^ proto) >>> 0;
  h = mix(h, src.w0);
  h = mix(h, src.w1);
  h = mix(h, src.w2);
  h = mix(h, src.w3);
  h = mix(h, dst.w0);
  h = mix(h, dst.w1);
  h = mix(h, dst.w2);
  h = mix(h, dst.w3);
  h = mix(h, ((sport & 0xffff) << 16) | (dport & 0xffff));
  return fmix(h);
}

export function flowHash(k: FlowKey, seed: number): number {
  return tupleHash(seed, k.proto, k.src, k.sport, k.dst, k.dport);
}
