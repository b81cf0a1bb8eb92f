/**
 * Property (issue 6 acceptance): arbitrary segments with valid checksums, fed to a socket in each
 * TCP state, never make the stack throw; after each one every socket keeps snd_una ≤ snd_nxt
 * and a non-negative readable count; once the application closes everything the stack goes
 * quiet (RTO-paced retransmissions at most, then nothing) and no connection is left.
 * fast-check, seeded; each state gets its own runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TcpSock } from '../../../src/tcp/index.js';
import { seqLe } from '../../../src/wire/seq.js';
import { REMOTE_ISS, REMOTE_PORT, STACK_PORT, TcpTestContext, type Conn } from '../harness/context.js';
import { hashedCount, stateName } from '../harness/probe.js';
import { patternPayload } from '../harness/segment.js';
import { resolve, segDescArb, type SegDesc } from './arb.js';

const SEED = 20261202;
const RUNS = Number(process.env.TCP_PROPS_RUNS ?? 12);

interface Start {
  ctx: TcpTestContext;
  /** the socket the segments aim at (null: only the listener) */
  conn: Conn | null;
  fds: number[];
}

type Reach = (ctx: TcpTestContext) => Start;

const passive = (ctx: TcpTestContext): { c: Conn; lfd: number } => {
  const lfd = ctx.listen();
  return { c: ctx.passiveOpen({ lfd, synOptions: { mss: 1460, sackOk: true, ts: [100, 0], wscale: 7 } }), lfd };
};

const STATES: [string, Reach][] = [
  ['LISTEN', (ctx) => ({ ctx, conn: null, fds: [ctx.listen()] })],
  ['SYN_SENT', (ctx) => { const c = ctx.synSent(); return { ctx, conn: c, fds: [c.fd] }; }],
  ['SYN_RECV', (ctx) => { const lfd = ctx.listen(); const c = ctx.synRecv({ lfd }); return { ctx, conn: c, fds: [lfd] }; }],
  ['ESTABLISHED', (ctx) => { const { c, lfd } = passive(ctx); return { ctx, conn: c, fds: [c.fd, lfd] }; }],
  ['ESTABLISHED with data in flight', (ctx) => {
    const { c, lfd } = passive(ctx);
    assert.equal(ctx.write(c.fd, patternPayload(0, 20_000)), 20_000);
    return { ctx, conn: c, fds: [c.fd, lfd] };
  }],
  ['FIN_WAIT1', (ctx) => { const { c, lfd } = passive(ctx); c.toFinWait1(); return { ctx, conn: c, fds: [c.fd, lfd] }; }],
  ['FIN_WAIT2', (ctx) => { const { c, lfd } = passive(ctx); c.toFinWait2(); return { ctx, conn: c, fds: [c.fd, lfd] }; }],
  ['CLOSING', (ctx) => { const { c, lfd } = passive(ctx); c.toClosing(); return { ctx, conn: c, fds: [c.fd, lfd] }; }],
  ['TIME_WAIT', (ctx) => { const { c, lfd } = passive(ctx); c.toTimeWait(); return { ctx, conn: c, fds: [c.fd, lfd] }; }],
  ['CLOSE_WAIT', (ctx) => { const { c, lfd } = passive(ctx); c.toCloseWait(); return { ctx, conn: c, fds: [c.fd, lfd] }; }],
  ['LAST_ACK', (ctx) => { const { c, lfd } = passive(ctx); c.toLastAck(); return { ctx, conn: c, fds: [c.fd, lfd] }; }],
];

function invariants(ctx: TcpTestContext, extra: TcpSock | null): string | null {
  const bad: string[] = [];
  const check = (tp: TcpSock): void => {
    if (!seqLe(tp.sndUna, tp.sndNxt)) bad.push(`${stateName(tp)}: snd_una ${tp.sndUna} > snd_nxt ${tp.sndNxt}`);
    if (tp.readableBytes < 0) bad.push(`${stateName(tp)}: readable ${tp.readableBytes}`);
  };
  ctx.host.kernel.tcp.demux.forEach(check);
  if (extra !== null) check(extra);
  return bad.length === 0 ? null : bad.join('; ');
}

function runCase(reach: Reach, descs: SegDesc[], family: 4 | 6): void {
  const ctx = new TcpTestContext({ family });
  try {
    const { conn, fds } = reach(ctx);
    const tp = conn?.tp ?? null;
    for (const d of descs) {
      const spec = resolve(d, {
        rcvNxt: tp !== null ? tp.rcvNxt : REMOTE_ISS, sndNxt: tp !== null ? tp.sndNxt : 0,
        sport: conn?.rport ?? REMOTE_PORT, dport: STACK_PORT, window: 65535,
      });
      // the stack must not throw on any of it (an exception fails the property)
      ctx.inject(spec);
      if (d.gapUs > 0) ctx.run(d.gapUs);
      const err = invariants(ctx, tp);
      if (err !== null) assert.fail(`after ${JSON.stringify(spec)}: ${err}`);
    }
    // the application reads what it can and closes everything
    for (const fd of fds) {
      ctx.read(fd);
      ctx.host.sys.close(fd);
    }
    ctx.run(2_000_000);
    const n0 = ctx.sent.length;
    const conns = hashedCount(ctx.host);
    ctx.run(10_000_000);
    const n = ctx.sent.length - n0;
    // RTO-paced retransmissions / SYN-ACK retries / FIN retries at most: a few per socket in 10 s
    assert.ok(n <= 8 * (conns + 1), `${n} segments in 10 s with ${conns} connections left`);
    ctx.run(30 * 60_000_000);
    const n1 = ctx.sent.length;
    ctx.run(60_000_000);
    assert.equal(ctx.sent.length - n1, 0, 'quiet after 30 minutes');
    assert.equal(hashedCount(ctx.host), 0, 'no connection left');
  } finally {
    ctx.close();
  }
}

describe('property: arbitrary segments in every state', () => {
  for (const family of [4, 6] as const) {
    for (const [name, reach] of STATES) {
      it(`IPv${family} ${name}`, () => {
        fc.assert(fc.property(fc.array(segDescArb, { minLength: 1, maxLength: 12 }), (descs) => {
          runCase(reach, descs, family);
        }), { seed: SEED + family * 100 + name.length, numRuns: RUNS });
      });
    }
  }
});
