/**
 * Property (issue 6 acceptance): a transfer between two stacks survives arbitrary forged
 * segments that TCP must not accept — no byte invented, none lost, order kept — and both stacks
 * are quiet once it is over. The forgeries (valid checksums, aimed at the live 4-tuple, into
 * either end) are those RFC 9293 / RFC 5961 / Linux drop or answer without taking their data:
 * ACKs of unsent data, ACKs older than the window, no ACK bit, data wholly left of or far right
 * of the window, RSTs not at rcv_nxt, SYNs; each with arbitrary flags, options (timestamps
 * included: they must not poison PAWS), windows and payloads. fast-check, seeded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TcpSock } from '../../../src/tcp/index.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../../../src/wire/tcp.js';
import { hashedCount } from '../harness/probe.js';
import { Pair } from '../harness/pair.js';
import type { OptSpec, SegSpec } from '../harness/segment.js';

const SEED = 20261203;
const RUNS = Number(process.env.TCP_PROPS_RUNS ?? 12);
const TOTAL = 200_000;
const PORT = 5000;
const STEP = 1000;
const PACE = 1000;

type Kind = 'ackUnsent' | 'ackTooOld' | 'noAck' | 'oldData' | 'farData' | 'rstOff' | 'syn';

interface Forge {
  to: 'a' | 'b';
  kind: Kind;
  /** extra flag bits (PSH, FIN, URG) */
  extra: number;
  off: number;
  payload: number;
  window: number;
  options: OptSpec | null;
  /** the step (ms) it is injected at */
  at: number;
}

const forgeArb: fc.Arbitrary<Forge> = fc.record({
  to: fc.constantFrom<'a' | 'b'>('a', 'b', 'b'),
  kind: fc.constantFrom<Kind>('ackUnsent', 'ackTooOld', 'noAck', 'oldData', 'farData', 'rstOff', 'syn'),
  extra: fc.constantFrom(0, TCP_PSH, TCP_FIN, TCP_PSH | TCP_FIN, TCP_URG),
  off: fc.integer({ min: 0, max: 1 << 20 }),
  payload: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1400 })),
  window: fc.integer({ min: 0, max: 65535 }),
  options: fc.option(fc.record({
    ts: fc.option(fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => [a >>> 0, b >>> 0] as const), { nil: undefined }),
    sack: fc.option(fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 2 }), { nil: undefined }),
  }, { requiredKeys: [] }), { nil: null }),
  at: fc.integer({ min: 0, max: 180 }),
});

/** the forged segment against `tp` (the end it is injected into) */
function forge(f: Forge, tp: TcpSock): SegSpec {
  const len = f.payload;
  const base = { window: f.window, payload: len, options: f.options ?? undefined };
  const k = f.off;
  switch (f.kind) {
    case 'ackUnsent':
      return { ...base, flags: TCP_ACK | f.extra, seq: tp.rcvNxt + (k % 2048), ack: tp.sndNxt + 1 + k };
    case 'ackTooOld':
      return { ...base, flags: TCP_ACK | f.extra, seq: tp.rcvNxt + (k % 2048), ack: tp.sndUna - 0x40000000 - k };
    case 'noAck':
      return { ...base, flags: f.extra & ~TCP_FIN ? f.extra & ~TCP_FIN : 0, seq: tp.rcvNxt + (k % 4096), ack: tp.sndNxt };
    case 'oldData':
      return { ...base, flags: TCP_ACK | f.extra, seq: tp.rcvNxt - len - 1 - (k % 100_000), ack: tp.sndUna };
    case 'farData':
      return { ...base, flags: TCP_ACK | f.extra, seq: tp.rcvNxt + 0x40000000 + k, ack: tp.sndUna };
    case 'rstOff':
      return { ...base, payload: 0, flags: TCP_RST | (f.extra & TCP_URG ? TCP_ACK : 0), seq: tp.rcvNxt + 1 + k, ack: tp.sndNxt };
    case 'syn':
      return { ...base, payload: 0, flags: TCP_SYN | (f.extra & TCP_PSH ? TCP_ACK : 0), seq: tp.rcvNxt + (k % 70_000) - 35_000, ack: tp.sndNxt };
  }
}

function patternAt(off: number): number {
  return (off * 13 + (off >>> 9)) & 0xff;
}

function runTransfer(family: 4 | 6, forged: Forge[]): void {
  const p = new Pair({ family, delayUs: 100 });
  p.keepLog = false;
  try {
    const { cfd, sfd, ca, cb } = p.establish(PORT);
    const todo = [...forged].sort((x, y) => x.at - y.at);
    const out = new Uint8Array(16 * 1024);
    const inb = new Uint8Array(64 * 1024);
    let sent = 0;
    let got = 0;
    let step = 0;
    while (got < TOTAL && step < 20_000) {
      while (todo.length > 0 && todo[0]!.at <= step) {
        const f = todo.shift()!;
        const tp = f.to === 'b' ? cb : ca;
        const spec = forge(f, tp);
        const sport = f.to === 'b' ? ca.lport : PORT;
        const dport = f.to === 'b' ? PORT : ca.lport;
        p.injectTo(f.to, { ...spec, seq: spec.seq >>> 0, ack: (spec.ack ?? 0) >>> 0, sport, dport });
      }
      // paced: 1000 bytes per millisecond, so that the forgeries land throughout the transfer
      const limit = Math.min(TOTAL, (step + 1) * PACE);
      while (sent < limit) {
        const n = Math.min(out.length, limit - sent);
        for (let i = 0; i < n; i++) out[i] = patternAt(sent + i);
        const r = p.a.sys.send(cfd, out.subarray(0, n));
        if (r <= 0) break;
        sent += r;
      }
      for (;;) {
        const r = p.b.sys.recv(sfd, inb);
        if (r <= 0) break;
        for (let i = 0; i < r; i++) {
          if (inb[i] !== patternAt(got + i)) assert.fail(`byte ${got + i}: expected ${patternAt(got + i)}, got ${inb[i]}`);
        }
        got += r;
      }
      p.run(STEP);
      step++;
    }
    assert.equal(got, TOTAL, `received ${got} of ${TOTAL} by step ${step}`);
    assert.equal(todo.length, 0, 'every forgery was injected during the transfer');
    // B sees the end of the stream where A put it, and nothing after
    p.a.sys.close(cfd);
    p.run(1_000_000);
    assert.equal(p.b.sys.recv(sfd, inb), 0, 'EOF right after the last byte');
    p.b.sys.close(sfd);
    p.run(2_000_000);
    const s0 = p.segs;
    p.run(10_000_000);
    assert.equal(p.segs - s0, 0, 'quiet after both closed');
    p.run(60_000_000);
    assert.equal(hashedCount(p.a) + hashedCount(p.b), 0, 'no connection left');
  } finally {
    p.close();
  }
}

describe('property: a transfer under forged segments', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: no byte invented or lost, stacks quiet afterwards`, () => {
      fc.assert(fc.property(fc.array(forgeArb, { minLength: 1, maxLength: 40 }), (forged) => {
        runTransfer(family, forged);
      }), { seed: SEED + family, numRuns: RUNS });
    });
  }

  it('control: an in-window forged data segment with an acceptable ACK IS taken (the check can fail)', () => {
    const p = new Pair();
    const { cfd, sfd, ca, cb } = p.establish(PORT);
    p.injectTo('b', { flags: TCP_PSH | TCP_ACK, seq: cb.rcvNxt, ack: cb.sndNxt, payload: 10, sport: ca.lport, dport: PORT });
    const inb = new Uint8Array(100);
    assert.equal(p.b.sys.recv(sfd, inb), 10, 'the forged bytes are delivered: only the rules above keep them out');
    void cfd;
    p.close();
  });
});
