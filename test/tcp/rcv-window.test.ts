/**
 * The receive window as a promise (Linux tcp_select_window with tcp_shrink_window = 0): the right
 * edge we advertised never moves left, data up to it is taken even when SO_RCVBUF shrank below
 * what is queued, the window then closes to zero and the sender's probes are answered, data past
 * the edge is not taken, and reading reopens the window.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C } from '../../src/index.js';
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../../src/wire/tcp.js';
import { ackNum, flags } from './harness/checkers.js';
import { TcpTestContext } from './harness/context.js';

describe('receive window', () => {
  it('SO_RCVBUF shrunk below an advertised window: data up to the old right edge is taken, the window closes at it, data past it is not', () => {
    const ctx = new TcpTestContext();
    // a 128 KiB buffer: a 64 KiB window
    ctx.host.kernel.tcp.sysctl.tcp_rmem = [4096, 131072, 131072];
    const c = ctx.passiveOpen();
    const tp = c.tp!;
    const ws = tp.rcvWscale;
    // one segment so that the stack advertises its full (scaled) window
    c.send({ flags: TCP_ACK | TCP_PSH, payload: 1000 });
    c.expectAck();
    const edge = (tp.rcvWup + tp.rcvWnd) | 0;
    const promised = (edge - c.sndNxt) | 0;
    assert.ok(promised > 20_000 && promised < 200_000, `window ${promised}`);
    assert.equal(ctx.host.sys.setsockopt(c.fd, C.SOL_SOCKET, C.SO_RCVBUF, 4096), 0);
    assert.ok(tp.rcvBuf < promised, `buffer ${tp.rcvBuf} now below the promise ${promised}`);
    // fill up to the advertised right edge (it may creep right by less than one scale unit per
    // ACK, as Linux's ALIGN(cur_win) does), nothing read, until the window is zero
    let right = edge;
    let lastWin = -1;
    for (let i = 0; i < 200 && lastWin !== 0; i++) {
      const room = (right - c.sndNxt) | 0;
      if (room > 0) c.send({ flags: TCP_ACK | TCP_PSH, payload: Math.min(1448, room) });
      else c.send({ flags: TCP_ACK });
      ctx.run(1000);
      for (const a of ctx.drain()) {
        const r = (a.ack + (a.window << ws)) | 0;
        assert.ok(((r - right) | 0) >= 0, 'the right edge never moves left');
        assert.ok(((r - right) | 0) < (1 << ws) * 4, 'it only creeps by the scale rounding');
        right = r;
        lastWin = a.window;
      }
    }
    assert.equal(lastWin, 0, 'the window closed at the edge');
    assert.equal(ctx.host.kernel.tcp.stats.rcvPruned, 0, 'nothing inside the window was dropped');
    const queued = (c.sndNxt - (edge - promised)) | 0;
    assert.ok(queued >= promised, `${queued} bytes taken, ${promised} promised`);
    assert.equal(tp.readableBytes, 1000 + queued);
    // past the edge: not taken, answered with a duplicate ACK
    c.forge({ flags: TCP_ACK | TCP_PSH, payload: 100 });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(tp.readableBytes, 1000 + queued);
    // a zero-window probe (seq = rcv_nxt − 1) is answered
    ctx.run(600_000);
    c.forge({ flags: TCP_ACK, seq: (c.sndNxt - 1) | 0 });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    // reading everything reopens the window
    const got = ctx.read(c.fd, 1 << 20);
    assert.ok(got instanceof Uint8Array && got.length === 1000 + queued);
    const upd = c.expectWithin(100_000, flags(TCP_ACK), ackNum(c.sndNxt));
    assert.ok(upd.window > 0, 'a window update after the read');
    ctx.close();
  });

  it('a segment ending past the window (Linux 6.17+ tcp_sequence): taken while the receive queue is empty, dropped with a duplicate ACK while it is not; a FIN may stick out', () => {
    const ctx = new TcpTestContext();
    ctx.host.kernel.tcp.sysctl.tcp_rmem = [1024, 2048, 2048];
    const c = ctx.passiveOpen({ synOptions: { mss: 1460 } });
    const tp = c.tp!;
    const edge = (): number => (tp.rcvWup + tp.rcvWnd) | 0;
    // empty queue: 100 bytes past the edge are taken
    let over = ((edge() - c.sndNxt) | 0) + 100;
    c.send({ flags: TCP_ACK | TCP_PSH, payload: over });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(tp.readableBytes, over);
    // queue not empty: ending past the (zero) window is refused
    ctx.read(c.fd, 1 << 20);
    ctx.run(300_000);
    ctx.drain();
    const w = (edge() - c.sndNxt) | 0;
    assert.ok(w > 200, `window ${w} after the read`);
    c.send({ flags: TCP_ACK | TCP_PSH, payload: 100 });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    over = ((edge() - c.sndNxt) | 0) + 50;
    c.forge({ flags: TCP_ACK | TCP_PSH, payload: over });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(tp.readableBytes, 100, 'refused while data waited');
    // exactly up to the edge, with a FIN one past it: taken
    const fit = (edge() - c.sndNxt) | 0;
    c.send({ flags: TCP_ACK | TCP_PSH | TCP_FIN, payload: fit });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(tp.readableBytes, 100 + fit);
    assert.equal(c.state, 'CLOSE_WAIT');
    ctx.close();
  });
});
