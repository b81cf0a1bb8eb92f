// TxBatch (src/link/vxlan/tx-batch.ts) against a scripted socket: what each sendmsg carries
// (byte-exact, with its segment size), UDP GSO's one-size rule, the limits, a full socket buffer
// (EAGAIN) that keeps the burst, the kernel refusing GSO (one datagram at a time from then on,
// resumed without loss or duplicates after an EAGAIN mid-way), and hard errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GSO_BACKOFF_MAX, GSO_BACKOFF_MIN, MAX_SEGMENTS, TxBatch, type TxAreaSocket, type TxBatchStats } from '../../src/link/vxlan/tx-batch.js';
import { ERRNO } from '../../src/uapi/errno.js';

interface Sent {
  seg: number;
  bytes: number[];
}

/** a socket whose sends are recorded; `script` answers the next calls (a -errno), then success */
class ScriptedSocket implements TxAreaSocket {
  readonly txArea = new Uint8Array(65527);
  readonly sent: Sent[] = [];
  readonly script: number[] = [];
  calls = 0;
  constructor(readonly gsoCapable = true) {}
  sendArea(off: number, len: number, segSize: number): number {
    this.calls++;
    const r = this.script.shift();
    if (r !== undefined && r < 0) return r;
    this.sent.push({ seg: segSize, bytes: [...this.txArea.subarray(off, off + len)] });
    return len;
  }
  /** the datagrams the kernel would put on the wire (GSO sends cut at `seg`) */
  datagrams(): number[][] {
    const out: number[][] = [];
    for (const s of this.sent) {
      if (s.seg === 0) out.push(s.bytes);
      else for (let i = 0; i < s.bytes.length; i += s.seg) out.push(s.bytes.slice(i, i + s.seg));
    }
    return out;
  }
}

const PREFIX = Uint8Array.from([8, 0, 0, 0, 0, 0x12, 0x34, 0]);

function frame(len: number, tag: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (tag * 31 + i * 7) & 0xff;
  return f;
}

function dgram(len: number, tag: number): number[] {
  return [...PREFIX, ...frame(len, tag)];
}

function rig(gso = true, capable = true): { sock: ScriptedSocket; tb: TxBatch; errors: [number, number][]; st: TxBatchStats } {
  const sock = new ScriptedSocket(capable);
  const errors: [number, number][] = [];
  const st: TxBatchStats = { txGsoSends: 0, txGsoDatagrams: 0, txGsoRefused: 0 };
  const tb = new TxBatch(sock, 65507, gso, st, (e, n) => errors.push([e, n]));
  return { sock, tb, errors, st };
}

describe('vxlan TxBatch', () => {
  it('a burst of equal frames leaves in one GSO send, byte-exact, in order', () => {
    const { sock, tb, st } = rig();
    for (let i = 0; i < 10; i++) assert.equal(tb.push(PREFIX, frame(1000, i)), true);
    assert.equal(sock.calls, 0, 'nothing leaves before the burst ends');
    assert.equal(tb.pending, 10);
    assert.equal(tb.flush(), 0);
    assert.equal(sock.sent.length, 1);
    assert.equal(sock.sent[0]!.seg, 1008);
    assert.deepEqual(sock.datagrams(), Array.from({ length: 10 }, (_, i) => dgram(1000, i)));
    assert.deepEqual(st, { txGsoSends: 1, txGsoDatagrams: 10, txGsoRefused: 0 });
    assert.equal(tb.pending, 0);
    assert.equal(tb.flush(), 0, 'an empty flush sends nothing');
    assert.equal(sock.calls, 1);
  });

  it('one shorter datagram ends a batch; a longer one starts a new batch; a lone datagram goes without a segment size', () => {
    const { sock, tb } = rig();
    const sizes = [500, 500, 300, 500, 900, 900, 100];
    sizes.forEach((n, i) => assert.equal(tb.push(PREFIX, frame(n, i)), true));
    tb.flush();
    assert.deepEqual(sock.sent.map((s) => [s.seg, s.bytes.length]), [[508, 508 * 2 + 308], [0, 508], [908, 908 * 2 + 108]]);
    assert.deepEqual(sock.datagrams(), sizes.map((n, i) => dgram(n, i)));
  });

  it('no more than MAX_SEGMENTS datagrams, nor more bytes than a UDP payload, in one send', () => {
    const { sock, tb } = rig();
    for (let i = 0; i < MAX_SEGMENTS + 3; i++) tb.push(PREFIX, frame(100, i));
    tb.flush();
    assert.deepEqual(sock.sent.map((s) => s.bytes.length / 108), [MAX_SEGMENTS, 3]);
    const big = rig();
    for (let i = 0; i < 9; i++) big.tb.push(PREFIX, frame(8992, i)); // 9000-byte datagrams: 7 fit in 65507
    big.tb.flush();
    assert.deepEqual(big.sock.sent.map((s) => s.bytes.length / 9000), [7, 2]);
    assert.ok(big.sock.sent.every((s) => s.bytes.length <= 65507));
    assert.deepEqual(big.sock.datagrams(), Array.from({ length: 9 }, (_, i) => dgram(8992, i)));
  });

  it('a full socket (EAGAIN) keeps the burst; a datagram that needs that flush is refused; the retry sends each once', () => {
    const { sock, tb } = rig();
    for (let i = 0; i < 5; i++) tb.push(PREFIX, frame(200, i));
    sock.script.push(-ERRNO.EAGAIN);
    assert.equal(tb.flush(), -ERRNO.EAGAIN);
    assert.equal(tb.pending, 5);
    // a longer frame cannot join: it needs the flush, which is refused again → not taken
    sock.script.push(-ERRNO.EAGAIN);
    assert.equal(tb.push(PREFIX, frame(400, 99)), false);
    assert.equal(tb.pending, 5);
    // an equal one still joins the waiting burst
    assert.equal(tb.push(PREFIX, frame(200, 5)), true);
    assert.equal(tb.flush(), 0, 'writable again');
    assert.deepEqual(sock.datagrams(), Array.from({ length: 6 }, (_, i) => dgram(200, i)));
  });

  for (const refusal of ['EMSGSIZE', 'EINVAL', 'EIO', 'EOPNOTSUPP'] as const) {
    it(`the kernel refuses GSO (${refusal}): the same datagrams go one by one, and so do the next ones for a while`, () => {
      const { sock, tb, errors, st } = rig();
      for (let i = 0; i < 4; i++) tb.push(PREFIX, frame(700, i));
      tb.push(PREFIX, frame(50, 4));
      sock.script.push(-ERRNO[refusal]);
      assert.equal(tb.flush(), 0);
      assert.equal(st.txGsoRefused, 1);
      assert.equal(tb.gsoOn, false);
      assert.ok(sock.sent.every((s) => s.seg === 0));
      assert.deepEqual(sock.datagrams(), [0, 1, 2, 3].map((i) => dgram(700, i)).concat([dgram(50, 4)]));
      // from now on each push sends at once
      const before = sock.sent.length;
      assert.equal(tb.push(PREFIX, frame(700, 5)), true);
      assert.equal(sock.sent.length, before + 1);
      assert.equal(tb.pending, 0);
      assert.deepEqual(errors, []);
    });
  }

  it('EAGAIN in the middle of the one-by-one fallback: resumed where it stopped, nothing lost or sent twice', () => {
    const { sock, tb } = rig();
    for (let i = 0; i < 6; i++) tb.push(PREFIX, frame(300, i));
    // GSO refused, two datagrams leave, then the socket is full
    sock.script.push(-ERRNO.EINVAL, 0, 0, -ERRNO.EAGAIN);
    assert.equal(tb.flush(), -ERRNO.EAGAIN);
    assert.equal(tb.pending, 4);
    assert.equal(tb.flush(), 0);
    assert.deepEqual(sock.datagrams(), Array.from({ length: 6 }, (_, i) => dgram(300, i)));
  });

  it('a hard error drops the burst and reports how many datagrams were lost', () => {
    const { sock, tb, errors } = rig();
    for (let i = 0; i < 3; i++) tb.push(PREFIX, frame(100, i));
    sock.script.push(-ERRNO.ENETUNREACH);
    assert.equal(tb.flush(), 0);
    assert.deepEqual(errors, [[ERRNO.ENETUNREACH, 3]]);
    assert.equal(tb.pending, 0);
    assert.equal(tb.push(PREFIX, frame(100, 7)), true);
    tb.flush();
    assert.deepEqual(sock.datagrams(), [dgram(100, 7)]);
  });

  it('without GSO (asked, or a socket that cannot) every push sends at once; a full socket refuses the datagram', () => {
    for (const [gso, capable] of [[false, true], [true, false]] as const) {
      const { sock, tb } = rig(gso, capable);
      assert.equal(tb.push(PREFIX, frame(64, 1)), true);
      assert.equal(tb.push(PREFIX, frame(64, 2)), true);
      assert.equal(sock.sent.length, 2);
      assert.ok(sock.sent.every((s) => s.seg === 0));
      sock.script.push(-ERRNO.EAGAIN);
      assert.equal(tb.push(PREFIX, frame(64, 3)), false, 'not taken');
      assert.equal(tb.pending, 0, 'and not kept');
      assert.equal(tb.push(PREFIX, frame(64, 4)), true);
      assert.deepEqual(sock.datagrams(), [dgram(64, 1), dgram(64, 2), dgram(64, 4)]);
      assert.equal(tb.gsoOn, false);
    }
  });

  it('after a refusal GSO comes back after GSO_BACKOFF_MIN single datagrams; refusals in a row double the wait, up to GSO_BACKOFF_MAX', () => {
    const { sock, tb, st } = rig();
    const burst = (n: number, tag: number): void => {
      for (let i = 0; i < n; i++) tb.push(PREFIX, frame(100, tag + i));
      tb.flush();
    };
    let waits = 0;
    let expect = GSO_BACKOFF_MIN;
    for (let round = 0; round < 8; round++) {
      sock.script.push(-ERRNO.EMSGSIZE); // the next GSO send is refused
      burst(4, 0);
      assert.equal(st.txGsoRefused, round + 1);
      // 4 went singly; the back-off counts datagrams sent singly
      let singles = 4;
      while (!tb.gsoOn) {
        tb.push(PREFIX, frame(100, 7));
        singles++;
      }
      assert.equal(singles, expect, `round ${round}`);
      waits++;
      expect = Math.min(expect * 2, GSO_BACKOFF_MAX);
    }
    assert.equal(waits, 8);
    // a GSO send that goes through resets the back-off
    const before = st.txGsoSends;
    burst(4, 0);
    assert.equal(st.txGsoSends, before + 1);
    sock.script.push(-ERRNO.EMSGSIZE);
    burst(4, 0);
    let singles = 4;
    while (!tb.gsoOn) {
      tb.push(PREFIX, frame(100, 7));
      singles++;
    }
    assert.equal(singles, GSO_BACKOFF_MIN);
  });

  it('a refusal met inside push (the batch was full) is counted at once', () => {
    const { sock, tb, st } = rig();
    for (let i = 0; i < MAX_SEGMENTS; i++) tb.push(PREFIX, frame(100, i));
    sock.script.push(-ERRNO.EMSGSIZE);
    tb.push(PREFIX, frame(100, MAX_SEGMENTS)); // the 65th makes the batch flush, and GSO is refused
    assert.equal(st.txGsoRefused, 1);
    assert.equal(st.txGsoSends, 0);
    assert.equal(tb.pending, 0, 'off: the 65th went at once too');
    assert.deepEqual(sock.datagrams(), Array.from({ length: MAX_SEGMENTS + 1 }, (_, i) => dgram(100, i)));
  });

  it('discard drops what the batch holds and says how many', () => {
    const { sock, tb } = rig();
    for (let i = 0; i < 5; i++) tb.push(PREFIX, frame(100, i));
    assert.equal(tb.discard(), 5);
    assert.equal(tb.pending, 0);
    assert.equal(tb.flush(), 0);
    assert.equal(sock.calls, 0);
  });
});
