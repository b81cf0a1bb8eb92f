/**
 * Property: over random interleavings of zero-copy and copied sends, ACK loss, data loss,
 * frames held at the NIC (released or lost later), time passing (retransmissions) and close or
 * abort, every notification completes exactly once — after its bytes were acknowledged (or the
 * socket went away) and never while the NIC still holds a frame of it — each id is reported
 * exactly once, and every pinned user page is released.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C } from '../../src/index.js';
import { ERRQ_SKB_TRUESIZE } from '../../src/socket/sys/errqueue.js';
import { TCP_ESTABLISHED } from '../../src/tcp/index.js';
import { run, zcPair, zcSend } from './helpers.js';

type Op =
  | { k: 'zc'; n: number }
  | { k: 'copy'; n: number }
  | { k: 'ackLoss'; p: number }
  | { k: 'dataLoss'; p: number }
  | { k: 'hold' }
  | { k: 'release' }
  | { k: 'discard' }
  | { k: 'time'; us: number }
  | { k: 'close'; abort: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('zc' as const), n: fc.integer({ min: 1, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('copy' as const), n: fc.integer({ min: 1, max: 5000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ackLoss' as const), p: fc.constantFrom(0, 0.3, 1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dataLoss' as const), p: fc.constantFrom(0, 0.2) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'hold' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'release' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'discard' as const }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('time' as const), us: fc.integer({ min: 100, max: 400_000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('close' as const), abort: fc.boolean() }) },
);

describe('MSG_ZEROCOPY property', () => {
  it('every completion exactly once, after the ACK and the NIC; every id reported once; every page released', (t) => {
    let ids = 0;
    let closes = 0;
    let heldAtCompletion = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 8, maxLength: 40, size: 'max' }), fc.integer({ min: 1, max: 1 << 30 }), (ops, seed) => {
        // seeds 1..4 give ISNs on both sides of 2^31 (int32 sequence numbers wrap there)
        const z = zcPair({ seed: (seed % 4) + 1 });
        let r = seed;
        const rand = (): number => {
          r = (r * 1103515245 + 12345) >>> 0;
          return r / 4294967296;
        };
        z.ab.rand = rand;
        z.ba.rand = rand;
        const sys = z.p.a.sys;
        assert.equal(sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0);
        const cs = z.cs;
        const tp = cs.tp;
        const host = z.p.a.kernel.mem.host;
        /** per id: the sequence number just past its bytes */
        const endSeq: number[] = [];
        const seen = new Map<number, number>();
        let closed = false;
        const justDone: number[] = [];
        cs.errq.zcListener = (lo, hi) => {
          for (let id = lo; ; id = (id + 1) >>> 0) {
            seen.set(id, (seen.get(id) ?? 0) + 1);
            if (!closed) justDone.push(id);
            if (id === hi) break;
          }
          // never while the NIC holds a frame of it: every held frame with user pages still holds a
          // live notification (the completing one has no references left)
          heldAtCompletion += z.ab.held.length;
          for (const skb of z.ab.held) {
            let user = false;
            for (let i = 0; i < skb.nrFrags; i++) if (host.isUserPage(skb.fragRef[i]! >>> 1) && (skb.fragRef[i]! & 1) === 0) user = true;
            if (user) assert.ok(skb.uarg !== null && skb.uarg.refcnt > 0, 'a held frame references user pages without a live notification');
          }
        };
        for (const o of ops) {
          switch (o.k) {
            case 'zc': {
              if (closed) break;
              const before = cs.zc.zckey;
              const n = zcSend(z, new Uint8Array(o.n).fill(o.n & 0xff), C.MSG_DONTWAIT);
              if (n > 0) {
                assert.equal(cs.zc.zckey, (before + 1) >>> 0, 'one id per successful send');
                endSeq[before] = tp.sendBuf.endSeq;
              } else {
                assert.equal(cs.zc.zckey, before, 'a failed send takes no id');
              }
              break;
            }
            case 'copy':
              if (!closed) sys.send(z.cfd, new Uint8Array(o.n), C.MSG_DONTWAIT);
              break;
            case 'ackLoss':
              z.ba.dropProb = o.p;
              break;
            case 'dataLoss':
              z.ab.dropProb = o.p;
              break;
            case 'hold':
              z.ab.mode = 'hold';
              break;
            case 'release':
              z.ab.mode = 'pass';
              z.ab.release();
              break;
            case 'discard':
              z.ab.mode = 'pass';
              z.ab.discard();
              break;
            case 'time':
              run(z.p, o.us);
              break;
            case 'close':
              if (closed) break;
              if (o.abort) {
                const lin = new Uint8Array(8);
                new DataView(lin.buffer).setInt32(0, 1, true);
                sys.setsockopt(z.cfd, C.SOL_SOCKET, C.SO_LINGER, lin);
              }
              closed = true;
              sys.close(z.cfd);
              break;
          }
          // completed during this step: its bytes were acknowledged (the completion runs inside the
          // ACK's processing, before snd_una moves), unless the connection went away
          for (const id of justDone.splice(0)) {
            if (tp.state === TCP_ESTABLISHED) assert.ok(((tp.sndUna - endSeq[id]!) | 0) >= 0, `id ${id} completed before its ACK`);
          }
          // drain B so its window stays open
          while (z.p.b.sys.recv(z.sfd, new Uint8Array(1 << 16), 0) > 0);
        }
        // let everything settle: the network heals, the NIC lets go, time passes
        z.ab.dropProb = 0;
        z.ba.dropProb = 0;
        z.ab.mode = 'pass';
        z.ab.release();
        for (let i = 0; i < 20 && cs.zc.live > 0; i++) {
          run(z.p, 2_000_000);
          while (z.p.b.sys.recv(z.sfd, new Uint8Array(1 << 16), 0) > 0);
        }
        if (cs.zc.live > 0 && !closed) {
          sys.close(z.cfd);
          run(z.p, 60_000_000);
        }
        assert.equal(cs.zc.live, 0, 'every notification completed');
        for (let id = 0; id < cs.zc.zckey; id++) assert.equal(seen.get(id), 1, `id ${id} reported exactly once`);
        assert.equal(seen.size, cs.zc.zckey);
        ids += seen.size;
        if (closed) closes++;
        assert.equal(z.p.a.kernel.mem.host.userPagesPinned, 0, 'every pinned page released');
        assert.ok(cs.errq.omem <= cs.errq.length * ERRQ_SKB_TRUESIZE);
      }),
      { numRuns: 40, seed: 20261202 },
    );
    t.diagnostic(`${ids} notifications, ${closes} closed runs, ${heldAtCompletion} frames held at completions`);
    // the property is not vacuous
    assert.ok(ids > 40 && closes > 0 && heldAtCompletion > 0);
  });
});
