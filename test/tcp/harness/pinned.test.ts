/**
 * Today's TCP pinned segment by segment through the harness, so that the rework happens under
 * it: handshake options, ACKs of data, segmentation of sent data, RSTs for closed ports, RFC 5961
 * challenge ACKs (and their per-socket rate limit), the zero-window probe with its backoff, and
 * TIME_WAIT re-ACKing a retransmitted FIN. Expected values are Linux's where the two agree; the
 * handshake's option lists are in `SYNACK_*` / `SYN_*` so a deliberate change edits one line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from '../../../src/index.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../src/wire/tcp.js';
import { ackNum, flags, noOptions, payload, seqNum, window, windowAtLeast } from './checkers.js';
import { REMOTE_ISS, TcpTestContext } from './context.js';
import { patternPayload, type Seg } from './segment.js';

const FAMILIES = [4, 6] as const;
/** MSS on a 1500-byte MTU: 1460 over IPv4, 1440 over IPv6 */
const MSS = { 4: 1460, 6: 1440 } as const;
/** our receive window scale: ilog2(6 MiB receive buffer) − 15 (Linux with stock tcp_rmem) */
const WSCALE = 7;

describe('pinned: handshake', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: passive open: SYN-ACK acks ISN+1, unscaled 65535 window, echoes wscale`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.synRecv({ synOptions: { mss: 1000, wscale: 2 } });
      const sa = c.synAck!;
      assert.equal(sa.ack, (REMOTE_ISS + 1) >>> 0);
      assert.equal(sa.window, 65535);
      assert.equal(sa.options.text, `mss ${MSS[family]},nop,wscale ${WSCALE}`);
      assert.equal(sa.payload.length, 0);
      // the handshake's ACK completes it; nothing is sent back
      c.send({ flags: TCP_ACK });
      ctx.expectNone(500_000, 'after the third ACK');
      assert.equal(c.state, 'ESTABLISHED');
      ctx.close();
    });

    it(`IPv${family}: SACK and timestamps offered → echoed in Linux's layout, TSecr = the SYN's TSval`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.synRecv({ synOptions: { mss: 1460, sackOk: true, ts: [100, 0], wscale: 7 } });
      assert.match(c.synAck!.options.text, new RegExp(`^mss ${MSS[family]},sackOK,TS val \\d+ ecr 100,nop,wscale ${WSCALE}$`));
      ctx.close();
    });

    it(`IPv${family}: no window scale offered → none in the SYN-ACK`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.synRecv({ synOptions: { mss: 1460 } });
      assert.equal(c.synAck!.options.text, `mss ${MSS[family]}`);
      ctx.close();
    });

    it(`IPv${family}: active open: SYN with mss and wscale, then a bare ACK of the SYN-ACK`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.synSent();
      const syn = c.syn!;
      // Linux: MSS, SACK-permitted + timestamps (TSecr 0), window scale
      assert.match(syn.options.text, new RegExp(`^mss ${MSS[family]},sackOK,TS val \\d+ ecr 0,nop,wscale ${WSCALE}$`));
      assert.equal(syn.window, 65535);
      assert.equal(syn.ack, 0);
      c.sndNxt = 5000;
      c.send({ flags: TCP_SYN | TCP_ACK, options: { mss: 1460, wscale: 7 } });
      c.expect(flags(TCP_ACK), seqNum(c.rcvNxt), ackNum(5001), noOptions(), windowAtLeast(1));
      assert.equal(c.state, 'ESTABLISHED');
      ctx.close();
    });

    it(`IPv${family}: an unanswered SYN is retransmitted after 1 s, then 2 s (exponential backoff)`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.synSent();
      const t0 = c.syn!.t;
      const r1 = c.expectWithin(1_100_000, flags(TCP_SYN), seqNum(c.stackIss));
      const r2 = c.expectWithin(2_100_000, flags(TCP_SYN), seqNum(c.stackIss));
      assert.equal(r1.t - t0, 1_000_000);
      assert.equal(r2.t - r1.t, 2_000_000);
      ctx.close();
    });
  }
});

describe('pinned: data', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: in-order data is ACKed at once (quick ACK) and read byte-exact`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      const t = ctx.now;
      c.send({ flags: TCP_PSH | TCP_ACK, payload: 100 });
      const a = c.expectAck();
      assert.equal(a.t, t, 'no delay');
      assert.equal(a.payload.length, 0);
      assert.ok(a.window > 0);
      assert.deepEqual(ctx.read(c.fd), patternPayload((REMOTE_ISS + 1) >>> 0, 100));
      ctx.close();
    });

    it(`IPv${family}: a write is cut into MSS-sized segments carrying the exact bytes, PSH on the last`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen({ synOptions: { mss: 1000, wscale: 7 } });
      const data = patternPayload(12345, 2500);
      assert.equal(ctx.write(c.fd, data), 2500);
      const s1 = c.expectData(1000, flags(TCP_ACK), ackNum(c.sndNxt), payload(data.subarray(0, 1000)));
      const s2 = c.expectData(1000, payload(data.subarray(1000, 2000)));
      const s3 = c.expectData(500, flags(TCP_PSH | TCP_ACK), payload(data.subarray(2000)));
      assert.equal(s1.t, s2.t);
      assert.equal(s2.t, s3.t);
      c.send({ flags: TCP_ACK });
      ctx.expectNone(3_000_000, 'everything acknowledged');
      ctx.close();
    });

    it(`IPv${family}: an out-of-order segment draws an immediate duplicate ACK`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      c.forge({ flags: TCP_ACK, seq: (c.sndNxt + 1000) >>> 0, payload: 100 });
      c.expectAck();
      // the hole filled: everything up to the end of the out-of-order data is ACKed
      c.send({ flags: TCP_ACK, payload: 1000 });
      c.expect(flags(TCP_ACK), ackNum(c.sndNxt + 100));
      ctx.close();
    });
  }
});

describe('pinned: RST for segments with no connection (RFC 9293 §3.10.7.1)', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: SYN / ACK / data / RST to a closed port`, () => {
      const ctx = new TcpTestContext({ family });
      ctx.inject({ flags: TCP_SYN, seq: 1000, dport: 9999, options: { mss: 1460 } });
      ctx.expect(flags(TCP_RST | TCP_ACK), seqNum(0), ackNum(1001), window(0), noOptions());
      ctx.inject({ flags: TCP_ACK, seq: 1000, ack: 5000, dport: 9999 });
      ctx.expect(flags(TCP_RST), seqNum(5000), window(0));
      ctx.inject({ flags: TCP_PSH, seq: 1000, payload: 10, dport: 9999 });
      ctx.expect(flags(TCP_RST | TCP_ACK), seqNum(0), ackNum(1010));
      ctx.inject({ flags: TCP_FIN | TCP_ACK, seq: 1000, ack: 7, payload: 10, dport: 9999 });
      ctx.expect(flags(TCP_RST), seqNum(7));
      ctx.inject({ flags: TCP_RST, seq: 1000, dport: 9999 });
      ctx.inject({ flags: TCP_RST | TCP_ACK, seq: 1000, ack: 1, dport: 9999 });
      ctx.expectNone(1_000_000, 'a RST is never answered');
      assert.equal(ctx.host.snmp().tcp.outRsts >= 4, true);
      ctx.close();
    });

    it(`IPv${family}: an ACK to a listener (no request for it) is reset`, () => {
      const ctx = new TcpTestContext({ family });
      ctx.listen();
      ctx.inject({ flags: TCP_ACK, seq: 1, ack: 12345 });
      ctx.expect(flags(TCP_RST), seqNum(12345));
      ctx.close();
    });
  }
});

describe('pinned: RFC 5961 on an established connection', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: an in-window SYN draws a challenge ACK and changes nothing`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      c.forge({ flags: TCP_SYN, seq: (c.sndNxt + 100) >>> 0, options: { mss: 1460 } });
      c.expectAck();
      assert.equal(c.state, 'ESTABLISHED');
      // the connection still works
      c.send({ flags: TCP_ACK, payload: 10 });
      c.expectAck();
      ctx.close();
    });

    it(`IPv${family}: an in-window RST that is not exact draws a challenge ACK; an exact one resets`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      c.forge({ flags: TCP_RST, seq: (c.sndNxt + 1) >>> 0 });
      c.expectAck();
      assert.equal(c.state, 'ESTABLISHED');
      c.forge({ flags: TCP_RST, seq: (c.sndNxt - 1) >>> 0 });
      c.forge({ flags: TCP_RST, seq: (c.sndNxt + 0x40000000) >>> 0 });
      ctx.expectNone(1_000_000, 'RSTs outside the window');
      assert.equal(c.state, 'ESTABLISHED');
      c.forge({ flags: TCP_RST, seq: c.sndNxt });
      ctx.expectNone(100_000, 'after the exact RST');
      assert.equal(c.state, 'CLOSE');
      assert.equal(ctx.read(c.fd), -ERRNO.ECONNRESET);
      ctx.close();
    });

    it(`IPv${family}: challenge ACKs are rate limited per socket (one per 500 ms)`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      const t0 = ctx.now;
      for (let i = 0; i < 100; i++) {
        c.forge({ flags: TCP_RST, seq: (c.sndNxt + 1 + i) >>> 0 });
        ctx.run(10_000);
      }
      const acks = ctx.drain();
      assert.equal(acks.length, 2, 'one at 0 ms, one at 500 ms');
      assert.equal(acks[0]!.t, t0);
      assert.equal(acks[1]!.t - acks[0]!.t, 500_000);
      assert.equal(c.state, 'ESTABLISHED');
      ctx.close();
    });
  }
});

describe('pinned: zero window', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: data waits behind a zero window; probes back off exponentially; an opened window lets it flow`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      c.window = 0;
      c.send({ flags: TCP_ACK });
      assert.equal(ctx.write(c.fd, patternPayload(0, 3000)), 3000);
      const t0 = ctx.now;
      const probes: Seg[] = [];
      for (let i = 0; i < 5; i++) probes.push(c.expectWithin(20_000_000, flags(TCP_ACK), seqNum(c.rcvNxt - 1), ackNum(c.sndNxt)));
      for (const p of probes) assert.equal(p.payload.length, 0, 'a probe carries no data (seq = snd_una − 1)');
      const gaps = probes.map((p, i) => p.t - (i === 0 ? t0 : probes[i - 1]!.t));
      // RTO-based: the first after ~200 ms, then doubling
      for (let i = 1; i < gaps.length; i++) assert.ok(Math.abs(gaps[i]! - 2 * gaps[i - 1]!) <= 2_000, `gaps ${gaps.join(', ')}`);
      assert.ok(gaps[0]! >= 200_000 && gaps[0]! < 300_000, `first probe after ${gaps[0]} µs`);
      c.window = 65535;
      c.send({ flags: TCP_ACK });
      c.expectData(MSS[family]);
      c.expectData(MSS[family]);
      c.expectData(3000 - 2 * MSS[family], flags(TCP_PSH | TCP_ACK));
      ctx.close();
    });
  }
});

describe('pinned: TIME_WAIT', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: a retransmitted FIN is ACKed again; other segments are ignored`, () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      c.toTimeWait();
      c.forge({ flags: TCP_FIN | TCP_ACK, seq: (c.sndNxt - 1) >>> 0 });
      c.expectAck();
      ctx.expectNone(1_000_000);
      assert.equal(c.state, 'TIME_WAIT');
      ctx.close();
    });
  }

  it('the port of a closed connection answers with RST after TIME_WAIT ends (60 s)', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    assert.equal(ctx.host.sys.close(c.lfd), 0);
    c.toTimeWait();
    ctx.run(61_000_000);
    ctx.drain();
    c.forge({ flags: TCP_ACK, payload: 1 });
    ctx.expect(flags(TCP_RST), seqNum(c.rcvNxt));
    ctx.close();
  });
});
