/**
 * n-tuple flow steering rules (`ethtool -N <if> flow-type tcp4|udp4|tcp6|udp6 [src-ip A[/P]]
 * [dst-ip A[/P]] [src-port N] [dst-port N] action Q`). A rule matches TCP or UDP of one family on
 * any subset of (src address or prefix, dst address or prefix, src port, dst port) and steers to
 * a queue, or drops (`action -1`). Rules are kept by location; the lowest location matches
 * first. Fragments never match (they carry no ports; RSS keeps them together).
 *
 * Contract: rule addresses are `InetAddr`s of the rule's family; prefixes count bits within the
 * family (≤ 32 for IPv4, ≤ 128 for IPv6, default the whole address). `match` reads a
 * `FlowDissect` and allocates nothing.
 */
import { isV4, type Addr, type InetAddr } from '../inet/index.js';
import { ERRNO } from '../uapi/index.js';
import type { FlowDissect } from './dissector.js';

export type FlowType = 'tcp4' | 'udp4' | 'tcp6' | 'udp6';

export interface NtupleRule {
  flowType: FlowType;
  srcIp?: InetAddr;
  /** prefix length of `srcIp` within its family (default: the whole address) */
  srcPrefix?: number;
  dstIp?: InetAddr;
  dstPrefix?: number;
  srcPort?: number;
  dstPort?: number;
  /** rx queue, or -1 to drop */
  action: number;
  /** rule location (ethtool `loc`); assigned when omitted */
  loc?: number;
}

export interface InstalledRule extends NtupleRule {
  loc: number;
}

/** a rule in match form: the protocol, the family, 128-bit prefix lengths (-1 = any) */
interface Compiled {
  rule: InstalledRule;
  proto: number;
  family: 4 | 6;
  srcBits: number;
  dstBits: number;
  srcPort: number;
  dstPort: number;
}

export function flowTypeFamily(t: FlowType): 4 | 6 {
  return t === 'tcp4' || t === 'udp4' ? 4 : 6;
}

export function flowTypeProto(t: FlowType): number {
  return t === 'tcp4' || t === 'tcp6' ? 6 : 17;
}

export class NtupleTable {
  enabled = true;
  readonly rules: InstalledRule[] = [];
  private compiled: Compiled[] = [];
  readonly maxRules: number;

  constructor(maxRules = 1024) {
    this.maxRules = maxRules;
  }

  /**
   * Adds a rule; returns its location, or -EINVAL (bad flow type, an address of the other
   * family, a bad prefix, port or action), -EEXIST (location taken) or -ENOSPC (table full).
   */
  add(rule: NtupleRule): number {
    if (rule.flowType !== 'tcp4' && rule.flowType !== 'udp4' && rule.flowType !== 'tcp6' && rule.flowType !== 'udp6') return -ERRNO.EINVAL;
    const family = flowTypeFamily(rule.flowType);
    const srcBits = prefixBits(rule.srcIp, rule.srcPrefix, family);
    const dstBits = prefixBits(rule.dstIp, rule.dstPrefix, family);
    if (srcBits === -2 || dstBits === -2) return -ERRNO.EINVAL;
    if (!portOk(rule.srcPort) || !portOk(rule.dstPort) || !Number.isInteger(rule.action) || rule.action < -1) return -ERRNO.EINVAL;
    let loc = rule.loc;
    if (loc === undefined) {
      loc = 0;
      while (this.rules.some((r) => r.loc === loc)) loc++;
    } else if (!Number.isInteger(loc) || loc < 0) {
      return -ERRNO.EINVAL;
    } else if (this.rules.some((r) => r.loc === loc)) {
      return -ERRNO.EEXIST;
    }
    if (loc >= this.maxRules) return -ERRNO.ENOSPC;
    const installed: InstalledRule = { ...rule, loc };
    this.rules.push(installed);
    this.rules.sort((a, b) => a.loc - b.loc);
    this.compiled.push({
      rule: installed, proto: flowTypeProto(rule.flowType), family, srcBits, dstBits,
      srcPort: rule.srcPort ?? -1, dstPort: rule.dstPort ?? -1,
    });
    this.compiled.sort((a, b) => a.rule.loc - b.rule.loc);
    return loc;
  }

  delete(loc: number): boolean {
    const i = this.rules.findIndex((r) => r.loc === loc);
    if (i < 0) return false;
    this.rules.splice(i, 1);
    this.compiled = this.compiled.filter((c) => c.rule.loc !== loc);
    return true;
  }

  /** queue for the dissected flow, -1 to drop, or -2 when no rule matches (allocation-free) */
  match(fd: FlowDissect): number {
    if (!this.enabled || !fd.hasL4Ports) return -2;
    const cs = this.compiled;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      if (c.proto !== fd.proto || c.family !== fd.family) continue;
      if (c.srcPort >= 0 && c.srcPort !== fd.sport) continue;
      if (c.dstPort >= 0 && c.dstPort !== fd.dport) continue;
      if (c.srcBits >= 0 && !prefixEq(c.rule.srcIp!, fd.src, c.srcBits)) continue;
      if (c.dstBits >= 0 && !prefixEq(c.rule.dstIp!, fd.dst, c.dstBits)) continue;
      return c.rule.action;
    }
    return -2;
  }
}

function portOk(p: number | undefined): boolean {
  return p === undefined || (Number.isInteger(p) && p >= 0 && p <= 0xffff);
}

/** the 128-bit prefix length of an address condition: -1 none, -2 invalid */
function prefixBits(a: InetAddr | undefined, prefix: number | undefined, family: 4 | 6): number {
  if (a === undefined) return prefix === undefined ? -1 : -2;
  if (isV4(a) !== (family === 4)) return -2;
  const max = family === 4 ? 32 : 128;
  const p = prefix ?? max;
  if (!Number.isInteger(p) || p < 0 || p > max) return -2;
  return family === 4 ? 96 + p : p;
}

/** the first `bits` bits (of the 128-bit form) of `a` and `b` agree; allocation-free */
function prefixEq(a: Addr, b: Addr, bits: number): boolean {
  return wordEq(a.w0, b.w0, bits) && wordEq(a.w1, b.w1, bits - 32) && wordEq(a.w2, b.w2, bits - 64) && wordEq(a.w3, b.w3, bits - 96);
}

function wordEq(x: number, y: number, bits: number): boolean {
  if (bits <= 0) return true;
  if (bits >= 32) return x === y;
  return ((x ^ y) >>> (32 - bits)) === 0;
}
