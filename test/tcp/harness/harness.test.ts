/**
 * The segment-level harness itself: frames it builds are byte-correct (an independent parse and
 * the stack's own checksum verification agree), its checkers fail when they should (a harness
 * that cannot fail proves nothing), and each state helper reaches its state, IPv4 and IPv6.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../../src/inet/index.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../../src/wire/tcp.js';
import {
  ackNum, flags, noOptions, options, optionsText, payload, payloadLen, seqNum, window,
} from './checkers.js';
import { REMOTE_ISS, STACK_PORT, TcpTestContext } from './context.js';
import { hashedCount } from './probe.js';
import { buildFrame, parseFrame, patternPayload, segToString, type OptSpec } from './segment.js';

const FAMILIES = [4, 6] as const;

describe('harness: frames', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: build → parse round trip, with checksums an independent sum accepts`, () => {
      const src = InetAddr.parse(family === 4 ? '192.0.2.1' : '2001:db8::1');
      const dst = InetAddr.parse(family === 4 ? '192.168.0.1' : '2001:db8::2');
      const f = buildFrame({ family, srcMac: 1, dstMac: 2, src, dst }, {
        sport: 1234, dport: 80, flags: TCP_PSH | TCP_ACK, seq: 0xfffffff0, ack: 77, window: 513, payload: 33,
        options: { ts: [5, 6], sack: [[100, 200], [300, 400]] },
      });
      const s = parseFrame(f, 9)!;
      assert.deepEqual(s.csumErrors, []);
      assert.equal(s.family, family);
      assert.ok(s.src.equals(src) && s.dst.equals(dst));
      assert.deepEqual([s.sport, s.dport, s.seq, s.ack, s.flags, s.window, s.t], [1234, 80, 0xfffffff0, 77, TCP_PSH | TCP_ACK, 513, 9]);
      assert.deepEqual(s.payload, patternPayload(0xfffffff0, 33));
      assert.equal(s.options.text, 'nop,nop,TS val 5 ecr 6,nop,nop,sack 100:200 300:400');
      assert.equal(segToString(s), '1234 > 80 P. 4294967280:17(33) ack 77 win 513 <nop,nop,TS val 5 ecr 6,nop,nop,sack 100:200 300:400>');
      // one flipped payload bit is caught
      f[f.length - 1]! ^= 1;
      assert.deepEqual(parseFrame(f, 0)!.csumErrors, ['bad TCP checksum']);
    });
  }

  it('options in Linux order', () => {
    const t = (o: OptSpec | Uint8Array): string => parseFrame(buildFrame(
      { family: 4, srcMac: 1, dstMac: 2, src: InetAddr.parse('1.1.1.1'), dst: InetAddr.parse('2.2.2.2') },
      { sport: 1, dport: 2, flags: TCP_SYN, seq: 0, options: o },
    ), 0)!.options.text;
    assert.equal(t({ mss: 1460, sackOk: true, ts: [1, 0], wscale: 8 }), 'mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 8');
    assert.equal(t({ mss: 1460, sackOk: true, wscale: 8 }), 'mss 1460,nop,nop,sackOK,nop,wscale 8');
    assert.equal(t({ mss: 1000 }), 'mss 1000');
    assert.equal(t(Uint8Array.of(2, 4, 1, 0, 1)), 'mss 256,nop,eol', 'raw bytes, EOL padded');
  });

  for (const family of FAMILIES) {
    it(`IPv${family}: the stack accepts what the harness builds, and drops a bad checksum`, () => {
      const ctx = new TcpTestContext({ family });
      ctx.listen();
      const good = buildFrame(
        { family, srcMac: 0x020000000001, dstMac: 0x020000000002, src: ctx.remoteAddr, dst: ctx.stackAddr },
        { sport: 40001, dport: STACK_PORT, flags: TCP_SYN, seq: 1, options: { mss: 1460 } },
      );
      const bad = good.slice();
      bad[bad.length - 1]! ^= 0x40; // inside the MSS option
      const errs0 = ctx.host.snmp().tcp.inCsumErrors;
      ctx.injectFrame(bad);
      ctx.expectNone(100_000, 'bad checksum');
      assert.equal(ctx.host.snmp().tcp.inCsumErrors, errs0 + 1);
      ctx.injectFrame(good);
      ctx.expect(flags(TCP_SYN | TCP_ACK), ackNum(2));
      ctx.close();
    });
  }
});

describe('harness: checkers fail when they should', () => {
  it('expect reports expected vs actual for each mismatching field', () => {
    const ctx = new TcpTestContext();
    ctx.listen();
    ctx.inject({ flags: TCP_SYN, seq: 100, options: { mss: 1460 } });
    assert.throws(() => ctx.expect(flags(TCP_SYN | TCP_ACK), ackNum(102), window(1)), (e: Error) => {
      assert.match(e.message, /ack: expected 102, actual 101/);
      assert.match(e.message, /window: expected 1, actual 65535/);
      assert.match(e.message, /actual: 8080 > 40000 S\. /);
      return true;
    });
    ctx.close();
  });

  it('each checker rejects a segment that differs', () => {
    const s = parseFrame(buildFrame(
      { family: 4, srcMac: 1, dstMac: 2, src: InetAddr.parse('1.1.1.1'), dst: InetAddr.parse('2.2.2.2') },
      { sport: 1, dport: 2, flags: TCP_ACK, seq: 10, ack: 20, window: 30, payload: 3, options: { mss: 1000 } },
    ), 0)!;
    assert.equal(flags(TCP_ACK)(s), null);
    assert.notEqual(flags(TCP_ACK | TCP_FIN)(s), null);
    assert.notEqual(seqNum(11)(s), null);
    assert.notEqual(ackNum(21)(s), null);
    assert.notEqual(window(31)(s), null);
    assert.notEqual(noOptions()(s), null);
    assert.notEqual(optionsText('mss 1001')(s), null);
    assert.equal(options({ mss: 1000, wscale: null, ts: null })(s), null);
    assert.notEqual(options({ mss: 999 })(s), null);
    assert.notEqual(options({ ts: {} })(s), null);
    assert.notEqual(payloadLen(4)(s), null);
    assert.equal(payload(patternPayload(10, 3))(s), null);
    assert.notEqual(payload(patternPayload(11, 3))(s), null);
  });

  it('expect fails when nothing is sent; expectNone fails when something is', () => {
    const ctx = new TcpTestContext();
    assert.throws(() => ctx.expectWithin(1000), /none sent/);
    ctx.inject({ flags: TCP_SYN, seq: 1, dport: 9 });
    assert.throws(() => ctx.expectNone(1000), /expected no segment, got 1/);
    ctx.close();
  });
});

describe('harness: state helpers', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: SYN-SENT, SYN-RECV, ESTABLISHED both ways, FIN-WAIT-1/2, CLOSING, TIME-WAIT, CLOSE-WAIT, LAST-ACK`, () => {
      const ctx = new TcpTestContext({ family });
      const lfd = ctx.listen();
      const rec = ctx.synRecv({ lfd, rport: 41000 });
      assert.equal(rec.state, 'SYN_RECV');
      assert.equal(rec.sndNxt, (REMOTE_ISS + 1) >>> 0);
      assert.equal(ctx.synSent({ rport: 41001 }).state, 'SYN_SENT');
      const act = ctx.activeOpen({ rport: 41002 });
      assert.equal(act.state, 'ESTABLISHED');
      let p = 42000;
      const open = (): ReturnType<typeof ctx.passiveOpen> => ctx.passiveOpen({ lfd, rport: p++ });
      const cases: [string, (c: ReturnType<typeof open>) => void][] = [
        ['FIN_WAIT1', (c) => c.toFinWait1()],
        ['FIN_WAIT2', (c) => c.toFinWait2()],
        ['CLOSING', (c) => c.toClosing()],
        ['TIME_WAIT', (c) => c.toTimeWait()],
        ['CLOSE_WAIT', (c) => c.toCloseWait()],
        ['LAST_ACK', (c) => c.toLastAck()],
      ];
      for (const [state, go] of cases) {
        const c = open();
        go(c);
        assert.equal(c.state, state);
      }
      // LAST_ACK → CLOSED on the ACK of the FIN
      const c = open();
      c.toLastAck();
      c.send({ flags: TCP_ACK });
      assert.equal(c.state, 'CLOSE');
      assert.ok(hashedCount(ctx.host) > 0);
      ctx.close();
    });
  }
});
