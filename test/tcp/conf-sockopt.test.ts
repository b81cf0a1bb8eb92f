/**
 * Conformance fixes driven by the packetdrill scripts, segment by segment: the net.ipv4.tcp_*
 * sysctl table by Linux names (window scale from tcp_rmem[2] as tcp_select_initial_window, new
 * sockets' buffers from tcp_rmem[1] / tcp_wmem[1]), PSH on the segment that ends a write and on
 * multi-segment packets only, TCP_INQ with its TCP_CM_INQ cmsg, TCP_NOTSENT_LOWAT (poll and
 * send), and the other options scripts set (TCP_USER_TIMEOUT, TCP_QUICKACK, keepalive knobs,
 * IP_MTU_DISCOVER) with their range checks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO, MsgHdr } from '../../src/index.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import { ackNum, flags } from './harness/checkers.js';
import { REMOTE_ISS, TcpTestContext } from './harness/context.js';

const TCP_USER_TIMEOUT = 18;
const TCP_NOTSENT_LOWAT = 25;
const TCP_INQ = 36;
const IP_MTU_DISCOVER = 10;
const SOL_TCP = 6;

/** a SYN to the listener on STACK_PORT; the window scale its SYN-ACK offers (null: none) */
function synAckWscale(ctx: TcpTestContext, rport: number): number | null {
  ctx.inject({ flags: TCP_SYN, seq: REMOTE_ISS, sport: rport, options: { mss: 1460, wscale: 7 }, window: 65535 });
  const sa = ctx.expect(flags(TCP_SYN | TCP_ACK), ackNum(REMOTE_ISS + 1));
  const m = /wscale (\d+)/.exec(sa.options.text);
  return m === null ? null : Number(m[1]);
}

describe('tcp sysctl table (Linux names)', () => {
  it('has exactly the keys the stack honours, with Linux names', () => {
    const ctx = new TcpTestContext();
    const s = ctx.host.kernel.tcp.sysctl as unknown as Record<string, unknown>;
    for (const k of [
      'tcp_timestamps', 'tcp_sack', 'tcp_dsack', 'tcp_window_scaling', 'tcp_syncookies', 'tcp_rmem', 'tcp_wmem', 'tcp_notsent_lowat',
      'tcp_min_tso_segs', 'tcp_tso_win_divisor', 'tcp_slow_start_after_idle', 'tcp_pacing_ss_ratio', 'tcp_pacing_ca_ratio',
    ]) {
      assert.ok(k in s, k);
    }
    for (const k of ['timestamps', 'sack', 'windowScaling', 'syncookies', 'tcp_syn_retries']) assert.ok(!(k in s), k);
    assert.deepEqual(s.tcp_rmem, [4096, 6 * 1024 * 1024, 6 * 1024 * 1024]);
    ctx.close();
  });

  it('window scale from max(tcp_rmem[2], rmem_max): default 7, 15 MiB 8, 64 KiB 2, off none', () => {
    const cases: [number[] | null, boolean, number | null][] = [
      [null, true, 7],
      [[4096, 540000, 15 * 1024 * 1024], true, 8],
      [[4096, 65536, 65536], true, 2], // rmem_max 212992 still counts
      [null, false, null],
    ];
    let port = 31000;
    for (const [rmem, ws, want] of cases) {
      const ctx = new TcpTestContext();
      const sys = ctx.host.kernel.tcp.sysctl;
      if (rmem !== null) sys.tcp_rmem = rmem;
      sys.tcp_window_scaling = ws;
      ctx.listen();
      assert.equal(synAckWscale(ctx, port++), want, `rmem ${String(rmem)} ws ${ws}`);
      ctx.close();
    }
  });

  it('SO_RCVBUF locks the window scale to the buffer (Linux window clamp)', () => {
    const ctx = new TcpTestContext();
    const lfd = ctx.socket();
    assert.equal(ctx.host.sys.setsockopt(lfd, C.SOL_SOCKET, C.SO_RCVBUF, 16384), 0);
    const l = ctx.host.sys.bind(lfd, ctx.sockaddr(ctx.stackAddr, 8080));
    assert.equal(l, 0);
    assert.equal(ctx.host.sys.listen(lfd, 8), 0);
    // 32 KiB buffer → 16 KiB space → no scaling needed
    assert.equal(synAckWscale(ctx, 31100), 0);
    ctx.close();
  });

  it('new sockets take tcp_rmem[1] / tcp_wmem[1]; SO_RCVBUF still overrides', () => {
    const ctx = new TcpTestContext();
    const sys = ctx.host.kernel.tcp.sysctl;
    sys.tcp_rmem = [4096, 540000, 15 << 20];
    sys.tcp_wmem = [4096, 262144, 4194304];
    const fd = ctx.socket();
    assert.equal(ctx.host.sys.getsockoptInt(fd, C.SOL_SOCKET, C.SO_RCVBUF), 540000);
    assert.equal(ctx.host.sys.getsockoptInt(fd, C.SOL_SOCKET, C.SO_SNDBUF), 262144);
    ctx.host.sys.setsockopt(fd, C.SOL_SOCKET, C.SO_RCVBUF, 10000);
    assert.equal(ctx.host.sys.getsockoptInt(fd, C.SOL_SOCKET, C.SO_RCVBUF), 20000);
    ctx.close();
  });
});

describe('PSH (tcp_push / GSO packets)', () => {
  it('a write is one PSH segment; a lone MSS from inside a write has none, its end has PSH', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    assert.equal(ctx.write(c.fd, new Uint8Array(100)), 100);
    c.expectData(100, flags(TCP_ACK | TCP_PSH));
    c.send({ ack: c.rcvNxt });
    // the peer's window takes one MSS (12 << 7 = 1536 bytes): the piece inside the write has no PSH
    const mss = c.tp!.mss;
    assert.equal(mss, 1460);
    c.window = 12;
    c.send({ ack: c.rcvNxt });
    ctx.drain();
    assert.equal(ctx.write(c.fd, new Uint8Array(3000)), 3000);
    const first = c.expectData(mss);
    assert.equal(first.flags & TCP_PSH, 0, 'inside the write: no PSH');
    c.window = 65535 >> 7;
    c.send({ ack: c.rcvNxt });
    // the rest (one GSO packet split by the device): PSH only on the piece that ends the write
    const mid = c.expectData(mss);
    assert.equal(mid.flags & TCP_PSH, 0);
    const end = c.expectData(3000 - 2 * mss);
    assert.equal(end.flags & TCP_PSH, TCP_PSH, 'the end of the write');
    ctx.close();
  });

  it('a GSO packet ends with PSH; the RTO retransmission of a mid-write MSS has none', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    const mss = c.tp!.mss;
    assert.equal(ctx.host.sys.setsockopt(c.fd, SOL_TCP, C.TCP_NODELAY, 1), 0);
    assert.equal(ctx.host.sys.send(c.fd, new Uint8Array(2 * mss), C.MSG_MORE), 2 * mss);
    // MSG_MORE sets no push mark, but the two MSS leave as one GSO packet, which Linux always
    // marks PSH; the device splits it and keeps PSH on the last piece only
    const s = c.expectData(mss);
    assert.equal(s.flags & TCP_PSH, 0);
    assert.equal(c.expectData(mss).flags & TCP_PSH, TCP_PSH);
    // nothing acknowledged: the RTO resends the head MSS without PSH (no write ends there)
    const r = c.expectWithin(5_000_000);
    assert.equal(r.seq, s.seq);
    assert.equal(r.payload.length, mss);
    assert.equal(r.flags & TCP_PSH, 0);
    ctx.close();
  });
});

describe('TCP_INQ / TCP_CM_INQ', () => {
  function inqOf(m: MsgHdr): number | null {
    if (m.controlLen < 20 || m.control === null) return null;
    const dv = new DataView(m.control.buffer, m.control.byteOffset, m.controlLen);
    assert.equal(dv.getUint32(0, true), 20, 'cmsg_len');
    assert.equal(dv.getInt32(8, true), SOL_TCP);
    assert.equal(dv.getInt32(12, true), TCP_INQ);
    return dv.getInt32(16, true);
  }

  it('recvmsg reports bytes left, then 1 after the FIN; off by default; bad values EINVAL', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    const sys = ctx.host.sys;
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, TCP_INQ, 2), -ERRNO.EINVAL);
    assert.equal(sys.getsockoptInt(c.fd, SOL_TCP, TCP_INQ), 0);
    c.send({ flags: TCP_ACK | TCP_PSH, payload: 1000 });
    const m0 = new MsgHdr().setRecv(new Uint8Array(100), new Uint8Array(64));
    assert.equal(sys.recvmsg(c.fd, m0, 0), 100);
    assert.equal(m0.controlLen, 0, 'no cmsg without TCP_INQ');
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, TCP_INQ, 1), 0);
    assert.equal(sys.getsockoptInt(c.fd, SOL_TCP, TCP_INQ), 1);
    const m1 = new MsgHdr().setRecv(new Uint8Array(300), new Uint8Array(64));
    assert.equal(sys.recvmsg(c.fd, m1, 0), 300);
    assert.equal(inqOf(m1), 600);
    c.send({ flags: TCP_ACK | TCP_FIN });
    const m2 = new MsgHdr().setRecv(new Uint8Array(1000), new Uint8Array(64));
    assert.equal(sys.recvmsg(c.fd, m2, 0), 600);
    assert.equal(inqOf(m2), 1, 'the FIN counts one');
    // a control buffer too small for the cmsg: the data still arrives, no cmsg
    const m3 = new MsgHdr().setRecv(new Uint8Array(10), new Uint8Array(8));
    assert.equal(sys.recvmsg(c.fd, m3, 0), 0);
    assert.equal(m3.controlLen, 0);
    ctx.close();
  });
});

describe('TCP_NOTSENT_LOWAT', () => {
  it('poll is writable only while unsent·2 < lowat; send stops at the mark; 0 means the sysctl', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    const sys = ctx.host.sys;
    assert.equal(sys.getsockoptInt(c.fd, SOL_TCP, TCP_NOTSENT_LOWAT), 0);
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, TCP_NOTSENT_LOWAT, 4000), 0);
    assert.equal(sys.getsockoptInt(c.fd, SOL_TCP, TCP_NOTSENT_LOWAT), 4000);
    // a zero window: everything written stays unsent
    c.window = 0;
    c.send({ ack: c.rcvNxt });
    const pfd = [{ fd: c.fd, events: C.POLLOUT, revents: 0 }];
    assert.equal(sys.poll(pfd), 1);
    assert.equal(ctx.write(c.fd, new Uint8Array(2500)), 2500);
    pfd[0]!.revents = 0;
    assert.equal(sys.poll(pfd), 0, '2500·2 ≥ 4000: not writable');
    // Linux checks the mark when a write needs a new skb: the unsent tail skb still takes bytes
    assert.equal(sys.send(c.fd, new Uint8Array(2000), C.MSG_EOR), 2000, 'below the mark: taken (and the skb closed)');
    assert.equal(ctx.write(c.fd, new Uint8Array(10)), -ERRNO.EAGAIN, 'at the mark, a new skb: EAGAIN');
    // 0 = the sysctl (default UINT_MAX): writable again
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, TCP_NOTSENT_LOWAT, 0), 0);
    pfd[0]!.revents = 0;
    assert.equal(sys.poll(pfd), 1);
    ctx.host.kernel.tcp.sysctl.tcp_notsent_lowat = 100;
    pfd[0]!.revents = 0;
    assert.equal(sys.poll(pfd), 0, 'the sysctl applies');
    ctx.close();
  });
});

describe('other options the scripts set', () => {
  it('store and report; out-of-range values EINVAL', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    const sys = ctx.host.sys;
    const fd = c.fd;
    assert.equal(sys.setsockopt(fd, SOL_TCP, TCP_USER_TIMEOUT, 3000), 0);
    assert.equal(sys.getsockoptInt(fd, SOL_TCP, TCP_USER_TIMEOUT), 3000);
    assert.equal(c.tp!.userTimeout, 3_000_000);
    assert.equal(sys.setsockopt(fd, SOL_TCP, TCP_USER_TIMEOUT, -1), -ERRNO.EINVAL);
    assert.equal(sys.getsockoptInt(fd, SOL_TCP, C.TCP_KEEPIDLE), 7200);
    assert.equal(sys.setsockopt(fd, SOL_TCP, C.TCP_KEEPIDLE, 10), 0);
    assert.equal(sys.getsockoptInt(fd, SOL_TCP, C.TCP_KEEPIDLE), 10);
    assert.equal(sys.setsockopt(fd, SOL_TCP, C.TCP_KEEPIDLE, 0), -ERRNO.EINVAL);
    assert.equal(sys.setsockopt(fd, SOL_TCP, C.TCP_KEEPINTVL, 40000), -ERRNO.EINVAL);
    assert.equal(sys.setsockopt(fd, SOL_TCP, C.TCP_KEEPCNT, 128), -ERRNO.EINVAL);
    assert.equal(sys.setsockopt(fd, SOL_TCP, C.TCP_KEEPCNT, 3), 0);
    assert.equal(sys.getsockoptInt(fd, SOL_TCP, C.TCP_KEEPCNT), 3);
    assert.equal(sys.getsockoptInt(fd, C.SOL_IP, IP_MTU_DISCOVER), 1);
    assert.equal(sys.setsockopt(fd, C.SOL_IP, IP_MTU_DISCOVER, 0), 0);
    assert.equal(sys.getsockoptInt(fd, C.SOL_IP, IP_MTU_DISCOVER), 0);
    assert.equal(sys.setsockopt(fd, C.SOL_IP, IP_MTU_DISCOVER, 6), -ERRNO.EINVAL);
    ctx.close();
  });

  it('TCP_QUICKACK sends a pending delayed ACK at once', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    // TCP_QUICKACK 0 leaves quick-ACK mode: one segment's ACK is delayed
    assert.equal(ctx.host.sys.setsockopt(c.fd, SOL_TCP, C.TCP_QUICKACK, 0), 0);
    assert.equal(ctx.host.sys.getsockoptInt(c.fd, SOL_TCP, C.TCP_QUICKACK), 0);
    ctx.drain();
    c.send({ flags: TCP_ACK | TCP_PSH, payload: 10 });
    assert.equal(ctx.pending.length, 0, 'delayed');
    assert.equal(ctx.host.sys.setsockopt(c.fd, SOL_TCP, C.TCP_QUICKACK, 1), 0);
    c.expectAck();
    ctx.close();
  });
});

describe('old but acceptable ACKs', () => {
  it('data carrying ack = ISN right after the handshake is queued and ACKed (the SYN counts one byte acked)', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    const tp = c.tp!;
    assert.equal(tp.stats.bytesAcked, 1);
    c.send({ flags: TCP_ACK | TCP_PSH, ack: c.stackIss, payload: 500 });
    c.expectAck();
    assert.equal(tp.readableBytes, 500);
    // older than that (before snd_una − min(max_window, bytes_acked)): challenge ACK, data dropped
    c.send({ flags: TCP_ACK | TCP_PSH, ack: (c.stackIss - 10) >>> 0, payload: 500 });
    const ch = c.expect(flags(TCP_ACK));
    assert.equal(ch.ack, (REMOTE_ISS + 501) >>> 0, 'challenge ACK at rcv_nxt');
    assert.equal(tp.readableBytes, 500, 'nothing more queued');
    ctx.close();
  });

  it('rcv_mss starts at Linux’s guess (≤ 536) and grows to the largest segment seen', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    assert.equal(c.tp!.rcvMss, 536);
    c.send({ flags: TCP_ACK | TCP_PSH, payload: 1000 });
    assert.equal(c.tp!.rcvMss, 1000);
    ctx.close();
  });
});
