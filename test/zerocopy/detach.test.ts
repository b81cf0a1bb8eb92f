/**
 * A caller that detaches (transfers) the ArrayBuffer of a pending sendZerocopy: the stack must not
 * throw (the NIC, the wire and the checksum all read the pinned pages); from the detach on it reads
 * zeros, the send completes, every pinned page is released. Positive control: the same run without
 * the detach reads no detached page and delivers the original bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectPair, makePair } from '../e2e/helpers.js';

async function run(detach: boolean): Promise<{ got: Uint8Array; reads: number; pinned: number; bytes: number }> {
  const p = makePair();
  const { cs, conn } = await connectPair(p);
  const n = 300_000;
  const buf = new Uint8Array(n).fill(5);
  const done = cs.sendZerocopy(buf);
  if (detach) structuredClone(buf.buffer, { transfer: [buf.buffer] });
  const got = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const b = await conn.recv(n - at);
    if (b.length === 0) break;
    got.set(b, at);
    at += b.length;
  }
  const r = await done;
  const host = p.a.kernel.mem.host;
  const out = { got: got.subarray(0, at), reads: host.detachedUserReads, pinned: host.userPagesPinned, bytes: r.bytes };
  cs.close();
  conn.close();
  p.net.close();
  return out;
}

describe('sendZerocopy of a buffer the caller detaches', () => {
  it('never throws: the rest of the send reads zeros, completes, and releases every pinned page', async () => {
    const r = await run(true);
    assert.equal(r.got.length, 300_000);
    assert.equal(r.bytes, 300_000);
    assert.ok(r.reads > 0, 'the stack read pages of the detached buffer');
    assert.ok(r.got.every((v) => v === 5 || v === 0), 'only original bytes or zeros');
    assert.ok(r.got.includes(0), 'bytes read after the detach are zeros');
    assert.equal(r.pinned, 0);
  });

  it('positive control: without the detach the original bytes arrive and nothing reads a detached page', async () => {
    const r = await run(false);
    assert.equal(r.reads, 0);
    assert.ok(r.got.length === 300_000 && r.got.every((v) => v === 5));
    assert.equal(r.pinned, 0);
  });
});
