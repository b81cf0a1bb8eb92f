/**
 * Classic ECN (RFC 3168 as Linux 6.18, net.ipv4.tcp_ecn), segment by segment over IPv4 and IPv6:
 * negotiation both ways (ECE|CWR on the SYN, ECE alone on the SYN-ACK, fallback on a
 * retransmitted SYN, a refusal when the SYN-ACK also sets CWR or the SYN is itself ECT), the
 * receiver's echo (a CE mark → ECE on every segment until the peer's CWR, ACKed at once), the
 * sender's marks (ECT(0) on new data only, CWR once after an ECE put it in CWR), and forged ECN
 * bits on connections that did not negotiate it (ignored).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SockOptVal } from '../../src/socket/index.js';
import { CaState } from '../../src/tcp/cong/types.js';
import { SOL_TCP, TCP_INFO } from '../../src/uapi/index.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import { ackNum, flags, seqNum } from './harness/checkers.js';
import { Conn, REMOTE_ISS, REMOTE_MAC, REMOTE_PORT, STACK_MAC, STACK_PORT, TcpTestContext } from './harness/context.js';
import { buildFrame, sum16, type Seg, type SegSpec } from './harness/segment.js';

const NOT_ECT = 0;
const ECT0 = 2;
const CE = 3;
const FAMILIES = [4, 6] as const;
const SYN_OPTS = { mss: 1460, wscale: 7 };

/** the IP ECN field of a segment the stack sent */
function ecnOf(s: Seg): number {
  return s.tos & 3;
}

/** injects `s` (remote → stack) with the IP ECN field set to `ecn` */
function injectEcn(ctx: TcpTestContext, s: SegSpec, ecn: number): void {
  const f = buildFrame(
    { family: ctx.family, srcMac: REMOTE_MAC, dstMac: STACK_MAC, src: ctx.remoteAddr, dst: ctx.stackAddr },
    { ...s, sport: s.sport ?? REMOTE_PORT, dport: s.dport ?? STACK_PORT },
  );
  const ip = 14;
  if (ctx.family === 4) {
    f[ip + 1] = (f[ip + 1]! & ~3) | ecn;
    f[ip + 10] = 0;
    f[ip + 11] = 0;
    const c = ~sum16(f, ip, 20) & 0xffff;
    f[ip + 10] = c >> 8;
    f[ip + 11] = c & 0xff;
  } else {
    // version(4) traffic class(8) flow label(20): the ECN bits are bits 4..5 of byte 1
    f[ip + 1] = (f[ip + 1]! & ~0x30) | (ecn << 4);
  }
  ctx.injectFrame(f);
}

/** data from the remote at its snd_nxt with IP ECN `ecn` (and extra TCP flags) */
function sendData(c: Conn, len: number, ecn: number, extra = 0): void {
  injectEcn(c.ctx, c.seg({ flags: TCP_ACK | TCP_PSH | extra, payload: len }), ecn);
  c.sndNxt = (c.sndNxt + len) | 0;
}

/** a passive open whose SYN carries `synFlags` (and IP ECN `synEcn`); returns the connection and the SYN-ACK */
function passive(family: 4 | 6, synFlags: number, synEcn = NOT_ECT, tcpEcn = 2): { ctx: TcpTestContext; c: Conn; synAck: Seg } {
  const ctx = new TcpTestContext({ family });
  ctx.host.kernel.tcp.sysctl.tcp_ecn = tcpEcn;
  const lfd = ctx.listen();
  injectEcn(ctx, { flags: TCP_SYN | synFlags, seq: REMOTE_ISS, options: SYN_OPTS }, synEcn);
  const synAck = ctx.expect(flagsSetOf(TCP_SYN | TCP_ACK), ackNum(REMOTE_ISS + 1));
  const c = new Conn(ctx, -1, STACK_PORT, REMOTE_PORT, (REMOTE_ISS + 1) | 0, (synAck.seq + 1) | 0);
  c.send({ flags: TCP_ACK });
  c.fd = ctx.host.sys.accept4(lfd, null, 0);
  assert.ok(c.fd >= 0, `accept4: ${c.fd}`);
  c.tp = ctx.tp(c.fd);
  return { ctx, c, synAck };
}

/** a checker: every bit of `f` set (other bits free) */
function flagsSetOf(f: number): (s: Seg) => string | null {
  return (s) => ((s.flags & f) === f ? null : `flags ${s.flags.toString(16)} lack ${f.toString(16)}`);
}

for (const family of FAMILIES) {
  describe(`ECN negotiation (IPv${family})`, () => {
    it('tcp_ecn=2: an ECN-setup SYN (ECE|CWR) gets a SYN-ACK with ECE alone, not ECT; a plain SYN a plain SYN-ACK', () => {
      const a = passive(family, TCP_ECE | TCP_CWR);
      assert.equal(a.synAck.flags, TCP_SYN | TCP_ACK | TCP_ECE);
      assert.equal(ecnOf(a.synAck), NOT_ECT);
      a.ctx.close();
      const b = passive(family, 0);
      assert.equal(b.synAck.flags, TCP_SYN | TCP_ACK);
      b.ctx.close();
    });

    it('a SYN with only ECE, an ECT-marked ECN SYN, or tcp_ecn=0: no ECN', () => {
      for (const [f, e, sys] of [[TCP_ECE, NOT_ECT, 2], [TCP_ECE | TCP_CWR, ECT0, 2], [TCP_ECE | TCP_CWR, NOT_ECT, 0]] as const) {
        const a = passive(family, f, e, sys);
        assert.equal(a.synAck.flags, TCP_SYN | TCP_ACK, `SYN flags ${f.toString(16)} ecn ${e} tcp_ecn ${sys}`);
        assert.equal(ctxWrite(a.c, 100).tos & 3, NOT_ECT, 'data of a non-ECN connection is not ECT');
        a.ctx.close();
      }
    });

    it('tcp_ecn=1, active: SYN is SEW; a SYN-ACK with ECE alone makes an ECN connection, with ECE|CWR not; a retransmitted SYN falls back', () => {
      for (const agree of [true, false]) {
        const ctx = new TcpTestContext({ family });
        ctx.host.kernel.tcp.sysctl.tcp_ecn = 1;
        const c = activeSyn(ctx);
        assert.equal(c.syn!.flags, TCP_SYN | TCP_ECE | TCP_CWR);
        // the SYN retransmission after 1 s carries no ECN bits (tcp_ecn_fallback)
        const re = c.expectWithin(1_100_000, seqNum(c.stackIss));
        assert.equal(re.flags, TCP_SYN, 'retransmitted SYN');
        c.remoteIss = REMOTE_ISS;
        c.sndNxt = REMOTE_ISS;
        c.send({ flags: TCP_SYN | TCP_ACK | TCP_ECE | (agree ? 0 : TCP_CWR), options: SYN_OPTS });
        c.expect(flags(TCP_ACK));
        assert.equal(ctxWrite(c, 100).tos & 3, agree ? ECT0 : NOT_ECT);
        ctx.close();
      }
    });

    it('tcp_ecn=2, active: a plain SYN; an unasked ECE on the SYN-ACK changes nothing', () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.synSent();
      assert.equal(c.syn!.flags, TCP_SYN);
      c.remoteIss = REMOTE_ISS;
      c.sndNxt = REMOTE_ISS;
      c.send({ flags: TCP_SYN | TCP_ACK | TCP_ECE, options: SYN_OPTS });
      c.expect(flags(TCP_ACK));
      assert.equal(ctxWrite(c, 100).tos & 3, NOT_ECT);
      ctx.close();
    });
  });

  describe(`ECN with SYN cookies (IPv${family})`, () => {
    it('the cookie SYN-ACK agrees with ECE; the TS cookie carries it to the child, without timestamps it is forgotten (Linux cookie_ecn_ok)', () => {
      for (const ts of [true, false]) {
        const ctx = new TcpTestContext({ family });
        ctx.host.kernel.tcp.sysctl.tcp_syncookies = 2;
        const lfd = ctx.listen();
        const o = ts ? { ...SYN_OPTS, sackOk: true, ts: [1000, 0] as const } : SYN_OPTS;
        injectEcn(ctx, { flags: TCP_SYN | TCP_ECE | TCP_CWR, seq: REMOTE_ISS, options: o }, NOT_ECT);
        const sa = ctx.expect(flagsSetOf(TCP_SYN | TCP_ACK), ackNum(REMOTE_ISS + 1));
        assert.equal(sa.flags, TCP_SYN | TCP_ACK | TCP_ECE, `cookie SYN-ACK (timestamps ${ts})`);
        assert.equal(ctx.host.kernel.tcp.stats.syncookiesSent, 1);
        const c = new Conn(ctx, -1, STACK_PORT, REMOTE_PORT, (REMOTE_ISS + 1) | 0, (sa.seq + 1) | 0);
        c.send({ flags: TCP_ACK, options: ts ? { ts: [1001, sa.options.ts!.val] } : undefined });
        c.fd = ctx.host.sys.accept4(lfd, null, 0);
        assert.ok(c.fd >= 0, `accept4 ${c.fd}`);
        c.tp = ctx.tp(c.fd);
        assert.equal(ctxWrite(c, 100).tos & 3, ts ? ECT0 : NOT_ECT);
        ctx.close();
      }
    });
  });

  describe(`ECN receiver (IPv${family})`, () => {
    it('a CE mark on data: ACKed at once with ECE, every segment echoes ECE until a data segment with CWR, whose ACK is immediate and clean', () => {
      const { ctx, c } = passive(family, TCP_ECE | TCP_CWR);
      // get past the initial quick ACKs: each pair of full segments is ACKed once
      sendData(c, 1000, ECT0);
      const a0 = c.expectAck();
      assert.equal(a0.flags & TCP_ECE, 0, 'no echo before any CE');
      assert.equal(ecnOf(a0), NOT_ECT, 'a pure ACK is not ECT');
      sendData(c, 1000, CE);
      const a1 = c.expect(ackNum(c.sndNxt));
      assert.equal(a1.flags & TCP_ECE, TCP_ECE, 'ECE after a CE mark');
      sendData(c, 1000, ECT0);
      const a2 = c.expectWithin(300_000, flags(TCP_ACK | TCP_ECE), ackNum(c.sndNxt));
      assert.ok(a2 !== null);
      // our own data also carries the echo
      const d = ctxWrite(c, 100);
      assert.equal(d.flags & TCP_ECE, TCP_ECE, 'data echoes ECE too');
      assert.equal(ecnOf(d), ECT0, 'new data is ECT(0)');
      // the peer's CWR (on data) ends the echo; its ACK goes at once
      sendData(c, 1000, ECT0, TCP_CWR);
      const a3 = c.expectWithin(1000, ackNum(c.sndNxt));
      assert.equal(a3.flags & TCP_ECE, 0, 'no ECE after CWR');
      ctx.close();
    });

    it('CE on a connection without ECN is not echoed; a pure ACK with CWR ends the echo too (Linux ≥ 5.10), an old ACK does not', () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      sendData(c, 1000, CE);
      const a = c.expectAck();
      assert.equal(a.flags & TCP_ECE, 0, 'no ECN negotiated: CE is not echoed');
      ctx.close();
      const e = passive(family, TCP_ECE | TCP_CWR);
      ctxWrite(e.c, 100);
      e.c.send({ flags: TCP_ACK });
      sendData(e.c, 1000, CE);
      e.c.expect(ackNum(e.c.sndNxt), flagsSetOf(TCP_ECE));
      // an ACK older than snd_una carrying CWR: ignored (tcp_ack's old-ACK path)
      injectEcn(e.ctx, e.c.seg({ flags: TCP_ACK | TCP_CWR, ack: (e.c.rcvNxt - 50) | 0 }), NOT_ECT);
      sendData(e.c, 1000, ECT0);
      const b = e.c.expectWithin(300_000, ackNum(e.c.sndNxt));
      assert.equal(b.flags & TCP_ECE, TCP_ECE, 'an old ACK does not end the echo');
      injectEcn(e.ctx, e.c.seg({ flags: TCP_ACK | TCP_CWR }), NOT_ECT);
      sendData(e.c, 1000, ECT0);
      const d = e.c.expectWithin(300_000, ackNum(e.c.sndNxt));
      assert.equal(d.flags & TCP_ECE, 0, 'a pure ACK with CWR ended the echo');
      e.ctx.close();
    });
  });

  describe(`ECN in TCP_INFO (IPv${family})`, () => {
    it('tcpi_options: ECN once negotiated, ECN_SEEN once an ECT/CE mark arrived; neither without ECN', () => {
      const { ctx, c } = passive(family, TCP_ECE | TCP_CWR);
      assert.equal(infoOptions(c) & 0x18, 0x08);
      sendData(c, 100, ECT0);
      assert.equal(infoOptions(c) & 0x18, 0x18);
      ctx.close();
      const p = passive(family, 0);
      sendData(p.c, 100, CE);
      assert.equal(infoOptions(p.c) & 0x18, 0);
      p.ctx.close();
    });
  });

  describe(`ECN sender (IPv${family})`, () => {
    it('an ECE enters CWR (cwnd reduced), the next new data carries CWR once, a retransmission goes not-ECT', () => {
      const { ctx, c } = passive(family, TCP_ECE | TCP_CWR);
      const tp = c.tp!;
      const d1 = ctxWrite(c, 1000);
      assert.equal(d1.flags & TCP_CWR, 0);
      const cwnd0 = tp.sndCwnd;
      c.send({ flags: TCP_ACK | TCP_ECE });
      assert.equal(tp.caState, CaState.CWR, 'ECE → CWR');
      assert.ok(tp.sndSsthresh < cwnd0, `ssthresh ${tp.sndSsthresh} below cwnd ${cwnd0}`);
      const d2 = ctxWrite(c, 1000);
      assert.equal(d2.flags & TCP_CWR, TCP_CWR, 'CWR on the first new data after the reduction');
      assert.equal(ecnOf(d2), ECT0);
      c.send({ flags: TCP_ACK });
      const d3 = ctxWrite(c, 1000);
      assert.equal(d3.flags & TCP_CWR, 0, 'CWR once');
      assert.equal(ecnOf(d3), ECT0);
      // no ACK for a while: the retransmission (TLP / RTO) is not ECT
      const rtx = c.expectWithin(3_000_000, seqNum(d3.seq));
      assert.equal(ecnOf(rtx), NOT_ECT, 'a retransmission is not ECT');
      assert.equal(rtx.flags & TCP_CWR, 0);
      ctx.close();
    });

    it('a forged ECE on a connection without ECN is ignored', () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      ctxWrite(c, 1000);
      c.send({ flags: TCP_ACK | TCP_ECE });
      assert.equal(c.tp!.caState, CaState.Open);
      const d = ctxWrite(c, 1000);
      assert.equal(d.flags & (TCP_CWR | TCP_ECE), 0);
      assert.equal(ecnOf(d), NOT_ECT);
      ctx.close();
    });
  });
}

/** an active open up to SYN-SENT (the SYN may carry ECN flags) */
function activeSyn(ctx: TcpTestContext): Conn {
  const fd = ctx.socket();
  ctx.host.sys.connect(fd, ctx.sockaddr(ctx.remoteAddr, REMOTE_PORT));
  const syn = ctx.expect(flagsSetOf(TCP_SYN));
  const c = new Conn(ctx, fd, syn.sport, REMOTE_PORT, REMOTE_ISS, (syn.seq + 1) | 0);
  c.stackIss = syn.seq;
  c.syn = syn;
  c.tp = ctx.tp(fd);
  return c;
}

/** tcpi_options of the connection */
function infoOptions(c: Conn): number {
  const out = new SockOptVal();
  assert.equal(c.ctx.host.sys.getsockopt(c.fd, SOL_TCP, TCP_INFO, out), 0);
  return (out.data as { options: number }).options;
}

/** the stack writes `len` bytes; returns the data segment it sends (rcvNxt advanced) */
function ctxWrite(c: Conn, len: number): Seg {
  assert.equal(c.ctx.write(c.fd, new Uint8Array(len)), len);
  return c.expectData(len);
}
