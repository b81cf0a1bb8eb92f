/**
 * n-tuple flow steering rules (`ethtool -N <if> flow-type tcp4 … action Q`). A rule matches on
 * any subset of (src ip, dst ip, src port, dst port) for TCP or UDP over IPv4 and steers to a
 * queue, or drops (`action -1`). Rules are kept by location; the lowest location matches first.
 */

export type FlowType = 'tcp4' | 'udp4';

export interface NtupleRule {
  flowType: FlowType;
  srcIp?: number;
  dstIp?: number;
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

export class NtupleTable {
  enabled = true;
  readonly rules: InstalledRule[] = [];
  readonly maxRules: number;

  constructor(maxRules = 1024) {
    this.maxRules = maxRules;
  }

  /** adds a rule; returns its location, or -1 when the location is taken or the table is full */
  add(rule: NtupleRule): number {
    let loc = rule.loc;
    if (loc === undefined) {
      loc = 0;
      while (this.rules.some((r) => r.loc === loc)) loc++;
    } else if (this.rules.some((r) => r.loc === loc)) {
      return -1;
    }
    if (loc >= this.maxRules) return -1;
    this.rules.push({ ...rule, loc });
    this.rules.sort((a, b) => a.loc - b.loc);
    return loc;
  }

  delete(loc: number): boolean {
    const i = this.rules.findIndex((r) => r.loc === loc);
    if (i < 0) return false;
    this.rules.splice(i, 1);
    return true;
  }

  /** queue for the flow, -1 to drop, or -2 when no rule matches */
  match(proto: number, src: number, dst: number, sport: number, dport: number): number {
    if (!this.enabled) return -2;
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if ((r.flowType === 'tcp4' ? 6 : 17) !== proto) continue;
      if (r.srcIp !== undefined && r.srcIp !== src) continue;
      if (r.dstIp !== undefined && r.dstIp !== dst) continue;
      if (r.srcPort !== undefined && r.srcPort !== sport) continue;
      if (r.dstPort !== undefined && r.dstPort !== dport) continue;
      return r.action;
    }
    return -2;
  }
}
