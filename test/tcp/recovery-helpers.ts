/**
 * Shared set-up of the recovery tests (not a test file): a passive open through the segment
 * harness with a real round trip (the remote's ACK comes `rttUs` after the SYN-ACK, so the
 * stack's first RTT sample, min_rtt and RTO are those of a path), MSS 1000 like the packetdrill
 * scripts, SACK and timestamps as asked; then `burst` writes and checks the flight segment by
 * segment.
 */
import assert from 'node:assert/strict';
import { constants as C } from '../../src/index.js';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { flags, seqNum } from './harness/checkers.js';
import { TcpTestContext, type Conn } from './harness/context.js';
import { patternPayload, type Seg } from './harness/segment.js';

export const MSS = 1000;

export interface OpenOpts {
  sack?: boolean;
  ts?: boolean;
  rttUs?: number;
  family?: 4 | 6;
}

/** an established connection whose handshake took `rttUs` (default 100 ms) */
export function openWithRtt(o: OpenOpts = {}): { ctx: TcpTestContext; c: Conn } {
  const ctx = new TcpTestContext({ family: o.family ?? 4 });
  const sack = o.sack ?? true;
  const ts = o.ts ?? false;
  const c = ctx.synRecv({ synOptions: { mss: MSS, wscale: 7, sackOk: sack, ...(ts ? { ts: [1000, 0] as const } : {}) } });
  ctx.run(o.rttUs ?? 100_000);
  c.send({ flags: TCP_ACK, ...(ts ? { options: { ts: [1100, c.synAck!.options.ts?.val ?? 0] as const } } : {}) });
  const fd = ctx.host.sys.accept4(c.lfd, null, C.SOCK_NONBLOCK);
  assert.ok(fd >= 0, `accept4: ${fd}`);
  c.fd = fd;
  c.tp = ctx.tp(fd);
  return { ctx, c };
}

/** writes `n` MSS and expects them on the wire as `n` segments from rcvNxt; returns them */
export function burst(ctx: TcpTestContext, c: Conn, n: number): Seg[] {
  const start = c.rcvNxt;
  assert.equal(ctx.write(c.fd, patternPayload(0, n * MSS)), n * MSS);
  const out: Seg[] = [];
  let at = start;
  while (((at - start) | 0) < n * MSS) {
    const s = c.expect(seqNum(at));
    out.push(s);
    at = (at + s.payload.length) >>> 0;
  }
  return out;
}

/** the stack's sequence number of byte `i` of the stream (0 = the first data byte) */
export function dataSeq(c: Conn, i: number): number {
  return (c.stackIss + 1 + i) >>> 0;
}

/** a pure ACK of the remote acknowledging stream offset `ackOff` with optional SACK blocks (stream offsets) */
export function ackWith(c: Conn, ackOff: number, sack: [number, number][] = [], win?: number): void {
  c.send({
    flags: TCP_ACK, ack: dataSeq(c, ackOff),
    ...(win !== undefined ? { window: win } : {}),
    ...(sack.length > 0 ? { options: { sack: sack.map(([s, e]) => [dataSeq(c, s), dataSeq(c, e)] as const) } } : {}),
  });
}

/** the next segment is a retransmission of stream bytes [off, off+len) */
export function expectRetrans(c: Conn, off: number, len: number): Seg {
  const s = c.expect(seqNum(dataSeq(c, off)), flags(TCP_ACK));
  assert.equal(s.payload.length, len, `retransmission of ${off}..${off + len}`);
  return s;
}
