/**
 * fast-check arbitraries for TCP segments aimed at one connection (not a test file). A segment is
 * described relative to the connection's sequence space (`SegDesc`) and resolved against it at
 * injection time (`resolve`), so that shrinking keeps its meaning: exactly at the edge, just
 * inside or outside the window, far to either side, or any 32-bit value.
 */
import fc from 'fast-check';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../../../src/wire/tcp.js';
import type { OptSpec, SegSpec } from '../harness/segment.js';

export type Where = 'exact' | 'near' | 'window' | 'old' | 'far' | 'any';

export interface SegDesc {
  flags: number;
  seqAt: Where;
  seqOff: number;
  ackAt: Where;
  ackOff: number;
  window: number;
  payload: number;
  options: OptSpec | Uint8Array | null;
  /** another source port (a segment for no connection, or a listener's new request) */
  otherPort: number | null;
  /** virtual time to let pass after it, µs */
  gapUs: number;
}

const where = fc.constantFrom<Where>('exact', 'exact', 'near', 'near', 'window', 'old', 'far', 'any');

const flagsArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(TCP_ACK, TCP_PSH | TCP_ACK, TCP_FIN | TCP_ACK, TCP_SYN, TCP_SYN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK, 0, TCP_FIN, TCP_URG | TCP_ACK) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

const optSpecArb: fc.Arbitrary<OptSpec> = fc.record({
  mss: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  wscale: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
  sackOk: fc.boolean(),
  ts: fc.option(fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => [a >>> 0, b >>> 0] as const), { nil: undefined }),
  sack: fc.option(fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 2 }), { nil: undefined }),
}, { requiredKeys: [] });

const optionsArb: fc.Arbitrary<OptSpec | Uint8Array | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: optSpecArb },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
);

export const segDescArb: fc.Arbitrary<SegDesc> = fc.record({
  flags: flagsArb,
  seqAt: where,
  seqOff: fc.integer({ min: -70_000, max: 70_000 }),
  ackAt: where,
  ackOff: fc.integer({ min: -70_000, max: 70_000 }),
  window: fc.oneof(fc.constant(0), fc.constant(65535), fc.integer({ min: 0, max: 65535 })),
  payload: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 1400 }) }),
  options: optionsArb,
  otherPort: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 65535 }) }),
  gapUs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 0, max: 3_000_000 })),
});

function place(base: number, at: Where, off: number, window: number): number {
  switch (at) {
    case 'exact': return base >>> 0;
    case 'near': return (base + Math.sign(off) * (Math.abs(off) % 4)) >>> 0;
    case 'window': return (base + (Math.abs(off) % Math.max(1, window))) >>> 0;
    case 'old': return (base - 0x100000 - Math.abs(off)) >>> 0;
    case 'far': return (base + 0x40000000 + off) >>> 0;
    case 'any': return (off * 0x9e3779b1) >>> 0;
  }
}

/** the option bytes fit in 40 (SACK blocks are dropped first, then everything) */
function fitOptions(o: OptSpec | Uint8Array | null): OptSpec | Uint8Array | undefined {
  if (o === null) return undefined;
  if (o instanceof Uint8Array) return o;
  const len = (o.mss !== undefined ? 4 : 0) + (o.ts !== undefined ? 12 : o.sackOk ? 4 : 0) + (o.wscale !== undefined ? 4 : 0);
  const sack = o.sack !== undefined && o.sack.length > 0 && len + 4 + 8 * o.sack.length <= 40 ? o.sack : undefined;
  return { ...o, sack };
}

/**
 * The concrete segment: seq placed against `rcvNxt` (what the stack expects next from its peer),
 * ack against `sndNxt` (what the stack sent), with `window` the stack's receive window in bytes.
 */
export function resolve(d: SegDesc, c: { rcvNxt: number; sndNxt: number; sport: number; dport: number; window: number }): SegSpec & { sport: number; dport: number } {
  return {
    flags: d.flags,
    seq: place(c.rcvNxt, d.seqAt, d.seqOff, c.window),
    ack: place(c.sndNxt, d.ackAt, d.ackOff, 65535),
    window: d.window,
    payload: d.payload,
    options: fitOptions(d.options),
    sport: d.otherPort ?? c.sport,
    dport: c.dport,
  };
}
