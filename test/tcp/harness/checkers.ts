/**
 * Composable checkers for transmitted segments (like gVisor's `checker` package; not a test file).
 * A checker returns null when the segment passes, or a short "expected …, actual …" text. The
 * context's `expect(...)` runs them all and fails with every mismatch and the segment itself.
 */
import { tcpFlagsToString } from '../../../src/wire/tcp.js';
import type { Seg } from './segment.js';

export type Checker = (s: Seg) => string | null;

function mismatch(what: string, expected: unknown, actual: unknown): string {
  return `${what}: expected ${String(expected)}, actual ${String(actual)}`;
}

/** exactly these TCP flags */
export function flags(f: number): Checker {
  return (s) => (s.flags === f ? null : mismatch('flags', tcpFlagsToString(f), tcpFlagsToString(s.flags)));
}

/** these flags set (others may be too) */
export function flagsSet(f: number): Checker {
  return (s) => ((s.flags & f) === f ? null : mismatch('flags include', tcpFlagsToString(f), tcpFlagsToString(s.flags)));
}

export function seqNum(n: number): Checker {
  return (s) => (s.seq === n >>> 0 ? null : mismatch('seq', n >>> 0, s.seq));
}

export function ackNum(n: number): Checker {
  return (s) => (s.ack === n >>> 0 ? null : mismatch('ack', n >>> 0, s.ack));
}

export function window(w: number): Checker {
  return (s) => (s.window === w ? null : mismatch('window', w, s.window));
}

/** the raw 16-bit window field at least `w` */
export function windowAtLeast(w: number): Checker {
  return (s) => (s.window >= w ? null : mismatch('window ≥', w, s.window));
}

export function srcPort(p: number): Checker {
  return (s) => (s.sport === p ? null : mismatch('source port', p, s.sport));
}

export function dstPort(p: number): Checker {
  return (s) => (s.dport === p ? null : mismatch('destination port', p, s.dport));
}

/** the options exactly, in packetdrill notation and wire order: 'mss 1460,nop,wscale 7' ('' = none) */
export function optionsText(text: string): Checker {
  return (s) => (s.options.text === text ? null : mismatch('options', `<${text}>`, `<${s.options.text}>`));
}

export function noOptions(): Checker {
  return optionsText('');
}

/** option values (order-free); `null` asserts the option is absent */
export function options(o: {
  mss?: number | null; wscale?: number | null; sackOk?: boolean; ts?: { val?: number; ecr?: number } | null;
  sack?: readonly (readonly [number, number])[];
}): Checker {
  return (s) => {
    const so = s.options;
    const errs: string[] = [];
    if (o.mss !== undefined && so.mss !== o.mss) errs.push(mismatch('mss option', o.mss, so.mss));
    if (o.wscale !== undefined && so.wscale !== o.wscale) errs.push(mismatch('wscale option', o.wscale, so.wscale));
    if (o.sackOk !== undefined && so.sackOk !== o.sackOk) errs.push(mismatch('sackOK option', o.sackOk, so.sackOk));
    if (o.ts === null && so.ts !== null) errs.push(mismatch('timestamps', 'none', `val ${so.ts.val} ecr ${so.ts.ecr}`));
    if (o.ts != null) {
      if (so.ts === null) errs.push(mismatch('timestamps', 'present', 'none'));
      else {
        if (o.ts.val !== undefined && so.ts.val !== o.ts.val >>> 0) errs.push(mismatch('TSval', o.ts.val >>> 0, so.ts.val));
        if (o.ts.ecr !== undefined && so.ts.ecr !== o.ts.ecr >>> 0) errs.push(mismatch('TSecr', o.ts.ecr >>> 0, so.ts.ecr));
      }
    }
    if (o.sack !== undefined) {
      const want = o.sack.map(([a, b]) => `${a >>> 0}:${b >>> 0}`).join(' ');
      const got = so.sack.map(([a, b]) => `${a}:${b}`).join(' ');
      if (want !== got) errs.push(mismatch('SACK blocks', `[${want}]`, `[${got}]`));
    }
    return errs.length === 0 ? null : errs.join('; ');
  };
}

/** payload exactly these bytes */
export function payload(p: Uint8Array): Checker {
  return (s) => {
    if (s.payload.length !== p.length) return mismatch('payload length', p.length, s.payload.length);
    for (let i = 0; i < p.length; i++) {
      if (s.payload[i] !== p[i]) return mismatch(`payload byte ${i}`, p[i], s.payload[i]);
    }
    return null;
  };
}

export function payloadLen(n: number): Checker {
  return (s) => (s.payload.length === n ? null : mismatch('payload length', n, s.payload.length));
}

/** valid IP and TCP checksums (always checked by `expect`; usable alone) */
export function checksumsOk(): Checker {
  return (s) => (s.csumErrors.length === 0 ? null : s.csumErrors.join('; '));
}

export function ttl(n: number): Checker {
  return (s) => (s.ttl === n ? null : mismatch('TTL / hop limit', n, s.ttl));
}

/** sent at virtual time `t` µs, within `tol` µs */
export function sentAt(t: number, tol = 0): Checker {
  return (s) => (Math.abs(s.t - t) <= tol ? null : mismatch('time (µs)', `${t} ± ${tol}`, s.t));
}

/** runs every checker; null or all mismatches joined */
export function runCheckers(s: Seg, cs: readonly Checker[]): string | null {
  const errs: string[] = [];
  for (const c of cs) {
    const e = c(s);
    if (e !== null) errs.push(e);
  }
  return errs.length === 0 ? null : errs.join('; ');
}
