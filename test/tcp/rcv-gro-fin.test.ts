/**
 * A FIN that continues a GRO train joins it (Linux tcp_gro_receive leaves FIN and PSH out of the
 * flag comparison, ORs them into the held header and flushes): the receiver sees one segment
 * with the data and the FIN, and answers with one ACK of both — as Linux does for the same
 * frames (packetdrill inq/client.pkt: `< F. 10001:20001(10000)` → one `> . ack 20002`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import { ackNum } from './harness/checkers.js';
import { TcpTestContext } from './harness/context.js';

for (const family of [4, 6] as const) {
  describe(`GRO and FIN (IPv${family})`, () => {
    it('data then data+FIN back to back: merged, one ACK of everything, the stream ends after the bytes', () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      ctx.dev.gro = true;
      // get past the quick ACKs of the connection start
      const seq0 = c.sndNxt;
      c.send({ flags: TCP_ACK, payload: 1000 });
      c.send({ flags: TCP_ACK | TCP_FIN, payload: 500 });
      const a = c.expect(ackNum((seq0 + 1501) | 0));
      assert.equal(a.flags, TCP_ACK);
      ctx.expectNone(500_000, 'a second ACK');
      assert.equal(c.state, 'CLOSE_WAIT');
      const got = ctx.read(c.fd);
      assert.ok(got instanceof Uint8Array && got.length === 1500, 'all the bytes');
      assert.equal(ctx.read(c.fd) instanceof Uint8Array && (ctx.read(c.fd) as Uint8Array).length, 0, 'then EOF');
      ctx.close();
    });

    it('a FIN that does not continue the train (a gap, or other flags) is not merged', () => {
      const ctx = new TcpTestContext({ family });
      const c = ctx.passiveOpen();
      ctx.dev.gro = true;
      const seq0 = c.sndNxt;
      c.send({ flags: TCP_ACK | TCP_PSH, payload: 1000 });
      // a SYN-flagged "continuation" never joins (and is a challenge for the connection)
      c.forge({ flags: TCP_ACK | TCP_FIN | TCP_SYN, seq: (seq0 + 1000) | 0, payload: 100 });
      const a = c.expect(ackNum((seq0 + 1000) | 0));
      assert.equal(a.flags & TCP_FIN, 0);
      assert.equal(c.state, 'ESTABLISHED', 'the SYN-flagged segment did not close anything');
      ctx.close();
    });
  });
}
