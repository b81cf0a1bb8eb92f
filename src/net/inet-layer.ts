/**
 * `InetLayer`: the `IpLayer` transports see — IPv4 and IPv6 behind one face. Calls go to the
 * family stack of the destination address (`familyOf`); `register` fills the `ProtocolTable`
 * both stacks deliver through. A family with no stack attached answers as Linux does without
 * that protocol: no route (null / -ENETUNREACH), not local.
 *
 * Allocation-free: dispatch is one family test per call.
 */
import { familyOf, type Addr } from '../inet/index.js';
import type { SkBuff } from '../skb/index.js';
import { skbFree } from '../skb/index.js';
import { ERRNO } from '../uapi/index.js';
import type { FamilyStack, IpLayer, OutputOptions, ProtocolTable, Route, RxMeta, Transport } from './types.js';

export class InetLayer implements IpLayer {
  private v4: FamilyStack | null = null;
  private v6: FamilyStack | null = null;

  constructor(readonly protos: ProtocolTable) {}

  /** attaches the stack of `stack.family` (replacing one attached before) */
  attach(stack: FamilyStack): void {
    if (stack.family === 4) this.v4 = stack;
    else this.v6 = stack;
  }

  /** the stack of a family, or null */
  stack(family: 4 | 6): FamilyStack | null {
    return family === 4 ? this.v4 : this.v6;
  }

  route(dst: Addr, oif?: number): Route | null {
    const s = familyOf(dst) === 4 ? this.v4 : this.v6;
    return s === null ? null : s.route(dst, oif);
  }

  output(skb: SkBuff, src: Addr, dst: Addr, proto: number, opts?: OutputOptions): number {
    const s = familyOf(dst) === 4 ? this.v4 : this.v6;
    if (s === null) {
      skbFree(skb);
      return -ERRNO.ENETUNREACH;
    }
    return s.output(skb, src, dst, proto, opts);
  }

  isLocalAddress(a: Addr): boolean {
    const s = familyOf(a) === 4 ? this.v4 : this.v6;
    return s !== null && s.isLocalAddress(a);
  }

  register(proto: number, t: Transport): void {
    this.protos.set(proto, t);
  }

  unregister(proto: number): void {
    this.protos.delete(proto);
  }

  sendPortUnreach(skb: SkBuff, meta: RxMeta): void {
    const s = meta.family === 4 ? this.v4 : this.v6;
    if (s !== null) s.sendPortUnreach(skb, meta);
  }
}
