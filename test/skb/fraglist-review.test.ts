/**
 * Review findings on the skb frag list, each failing before its fix: the parent's `unreadable`
 * flag (the OR of its own slots and every member) outlived an unreadable member that trim, pull
 * or flatten removed, so checksums silently skipped host bytes and `skbTryCoalesce` put net_iovs
 * next to host pages (a later copy then read a net_iov as host memory). Plus a seeded model test:
 * random frag-list skbs (readable and net_iov slots, nested appends) under random copy / checksum
 * / pull / trim / flatten / pull / coalesce, checked byte for byte and readability for
 * readability against a plain array, with every page and net_iov reference back at the end.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BindingTable, DeviceMemory, DmabufBinding, DmabufDevmemProvider, MemSpace, PAGE_SIZE, PagePool, netmemIsNetIov,
  type NetmemRef,
} from '../../src/mem/index.js';
import {
  SkbCache, SkbPieceIter, pskbMayPull, skbAddFrag, skbAppendFragList, skbChecksum, skbCopyBits, skbFlattenFragList, skbFree,
  skbPull, skbPut, skbRangeReadable, skbTrim, skbTryCoalesce, type SkBuff,
} from '../../src/skb/index.js';
import { csumFold } from '../../src/wire/checksum.js';
import { Rng } from '../../src/rand/index.js';

function setup() {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem, 4096);
  const dm = new DeviceMemory(256 * PAGE_SIZE);
  const binding = new DmabufBinding(mem, new BindingTable(), dm, {}, 'eth0', 'rx');
  const pool = new PagePool(mem, new DmabufDevmemProvider(binding), { flags: 8, ifindex: 2, queueIdx: 0, ringSize: 16 });
  pool.init();
  skbFree(skbs.alloc(64, 0)!);
  return { mem, skbs, pool, base: mem.host.inUse };
}
type Env = ReturnType<typeof setup>;

function assertReleased(env: Env): void {
  assert.equal(env.skbs.live, 0, 'every skb object back in the cache');
  assert.equal(env.mem.host.inUse, env.base, 'every host page reference dropped');
  assert.equal(env.pool.inflight(), env.pool.cached, 'every net_iov reference dropped');
}

/** a frag of `bytes` on a host page or (niov) in device memory, at page offset `off` */
function fragOf(env: Env, bytes: Uint8Array, niov: boolean, off = 0): NetmemRef {
  if (niov) {
    const ref = env.pool.alloc();
    env.mem.dmaToNetIov(ref, off, bytes, 0, bytes.length);
    return ref;
  }
  const ref = env.mem.allocPage();
  env.mem.buf(ref).set(bytes, env.mem.offset(ref) + off);
  return ref;
}

function mk(env: Env, head: Uint8Array, frags: Uint8Array[], niov: boolean, room = 0): SkBuff {
  const skb = env.skbs.alloc(head.length + room, 0)!;
  skb.buf.set(head, skbPut(skb, head.length));
  for (const f of frags) assert.ok(skbAddFrag(skb, fragOf(env, f, niov), 0, f.length));
  return skb;
}

const bytes = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i * 7) & 0xff);

/** RFC 1071 sum of bytes (folded, not complemented); independent of src/wire */
function refSum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += i & 1 ? b[i]! : b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function slotsMixed(skb: SkBuff): boolean {
  for (let i = 1; i < skb.nrFrags; i++) if (netmemIsNetIov(skb.fragRef[i]!) !== netmemIsNetIov(skb.fragRef[0]!)) return true;
  return false;
}

describe('skb frag list review: the unreadable flag after members go', () => {
  it('trimming an unreadable member away: copy and checksum of the readable rest are whole again', () => {
    const env = setup();
    const head = bytes(10, 1);
    const frag = bytes(21, 50);
    const p = mk(env, head, [frag], false);
    skbAppendFragList(p, mk(env, bytes(5, 90), [bytes(100, 3)], true));
    assert.equal(p.unreadable, true);
    skbTrim(p, 31);
    assert.equal(p.fragList, null);
    const all = new Uint8Array(31);
    all.set(head);
    all.set(frag, 10);
    const out = new Uint8Array(31);
    assert.equal(skbCopyBits(p, 0, out, 0, 31), 0, 'host bytes only: the copy succeeds');
    assert.deepEqual(out, all);
    assert.equal(csumFold(skbChecksum(p, 0, 31, 0)), refSum(all), 'the frag bytes are summed, not skipped');
    assert.equal(p.unreadable, false);
    skbFree(p);
    assertReleased(env);
  });

  it('pulling through an emptied unreadable member head leaves the flag to the members still there', () => {
    const env = setup();
    const p = mk(env, bytes(4, 1), [], false, 64);
    skbAppendFragList(p, mk(env, bytes(6, 20), [], false));
    skbAppendFragList(p, mk(env, bytes(3, 40), [bytes(30, 60)], true));
    assert.ok(pskbMayPull(p, 13), 'head bytes of both members');
    assert.equal(p.unreadable, true, 'the device frag is still there');
    skbTrim(p, 13);
    assert.equal(p.unreadable, false);
    skbFree(p);
    assertReleased(env);
  });

  it('a flattened readable member never lets coalesce put net_iovs next to host pages', () => {
    const env = setup();
    // parent: head only, one unreadable member (device payload), later cut away
    const p = mk(env, bytes(8, 1), [], false);
    skbAppendFragList(p, mk(env, new Uint8Array(0), [bytes(40, 9)], true));
    skbTrim(p, 8);
    // a readable member, flattened into the parent's slots (host pages)
    skbAppendFragList(p, mk(env, new Uint8Array(0), [bytes(16, 77)], false));
    assert.ok(skbFlattenFragList(p));
    assert.equal(netmemIsNetIov(p.fragRef[0]!), false);
    assert.equal(p.unreadable, false, 'host-page slots are readable');
    // a device-memory skb whose head was consumed
    const dev = mk(env, new Uint8Array(0), [bytes(32, 5)], true);
    assert.equal(skbTryCoalesce(p, dev), false, 'host and device frags never share the slots');
    assert.equal(slotsMixed(p), false);
    // and the readable parent stays readable through a later append
    skbAppendFragList(p, dev);
    const out = new Uint8Array(24);
    assert.equal(skbCopyBits(p, 0, out, 0, 24), 0);
    assert.equal(skbCopyBits(p, 0, new Uint8Array(56), 0, 56), -14, 'device bytes are refused, never read');
    skbFree(p);
    assertReleased(env);
  });

  it('coalesce compares the slots, not only the flags: a readable-slot skb with an unreadable member refuses device frags', () => {
    const env = setup();
    const to = mk(env, bytes(4, 1), [bytes(10, 2)], true);
    const from = mk(env, new Uint8Array(0), [bytes(10, 3)], false);
    skbAppendFragList(from, mk(env, new Uint8Array(0), [bytes(5, 4)], true));
    assert.equal(from.unreadable, true);
    assert.equal(skbTryCoalesce(to, from), false);
    assert.equal(slotsMixed(to), false);
    skbFree(from);
    skbFree(to);
    assertReleased(env);
  });

  it('a device-memory skb trimmed to its head takes a host frag as a readable skb', () => {
    const env = setup();
    const s = mk(env, bytes(6, 1), [bytes(20, 2)], true);
    skbTrim(s, 6);
    assert.equal(s.nrFrags, 0);
    const f = bytes(9, 33);
    assert.ok(skbAddFrag(s, fragOf(env, f, false), 0, 9));
    const all = new Uint8Array(15);
    all.set(bytes(6, 1));
    all.set(f, 6);
    assert.equal(csumFold(skbChecksum(s, 0, 15, 0)), refSum(all));
    const niov = env.pool.alloc();
    assert.ok(skbAddFrag(s, niov, 0, 4), 'a device frag joins (Linux __skb_fill_netmem_desc) and makes the skb unreadable');
    assert.equal(s.unreadable, true);
    assert.equal(skbCopyBits(s, 6, new Uint8Array(9), 0, 9), -14, 'the host frag is now as unreadable as the rest');
    skbFree(s);
    assertReleased(env);
  });
});

describe('skb frag list review: seeded model test', () => {
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: random chains and operations keep bytes, readability and references exact`, () => {
      const env = setup();
      const rng = new Rng(seed);
      const R = (n: number): number => rng.nextInt(n);
      let v = 0;
      interface Model { skb: SkBuff; b: number[]; rd: boolean[] }
      const one = (room: number): Model => {
        const hl = R(40);
        const niov = R(3) === 0;
        const hr = R(8);
        const skb = env.skbs.alloc(hl + room + hr, hr)!;
        const o = skbPut(skb, hl);
        const m: Model = { skb, b: [], rd: [] };
        for (let i = 0; i < hl; i++) {
          skb.buf[o + i] = v & 0xff;
          m.b.push(v++ & 0xff);
          m.rd.push(true);
        }
        for (let k = R(4); k > 0; k--) {
          const f = Uint8Array.from({ length: 1 + R(300) }, () => v++ & 0xff);
          const off = R(64);
          assert.ok(skbAddFrag(skb, fragOf(env, f, niov, off), off, f.length));
          for (const x of f) {
            m.b.push(x);
            m.rd.push(!niov);
          }
        }
        return m;
      };
      const chain = (room: number, nest: boolean): Model => {
        const p = one(room);
        for (let k = R(4); k > 0; k--) {
          const c = nest && R(5) === 0 ? chain(0, false) : one(0);
          skbAppendFragList(p.skb, c.skb);
          p.b.push(...c.b);
          p.rd.push(...c.rd);
        }
        return p;
      };
      const check = (m: Model, what: string): void => {
        const s = m.skb;
        assert.equal(s.len, m.b.length, `${what}: len`);
        assert.equal(s.dataLen, s.len - (s.tail - s.data), `${what}: dataLen`);
        for (let x: SkBuff | null = s; x !== null; x = x === s ? s.fragList : x.next) {
          assert.equal(slotsMixed(x), false, `${what}: slots mixed`);
          if (x.nrFrags > 0 && netmemIsNetIov(x.fragRef[0]!)) assert.ok(x.unreadable, `${what}: net_iov slots flagged`);
        }
        if (m.rd.includes(false)) assert.ok(s.unreadable, `${what}: device bytes flagged`);
        const it = new SkbPieceIter().reset(s);
        let o = 0;
        while (it.next()) {
          const got = new Uint8Array(it.len);
          if (it.netIov) env.mem.dmaFromNetIov(it.ref, it.pageOff, got, 0, it.len);
          else got.set(it.buf.subarray(it.off, it.off + it.len));
          for (let i = 0; i < it.len; i++) {
            if (got[i] !== m.b[o + i] || m.rd[o + i] !== !it.netIov) assert.fail(`${what}: byte ${o + i}`);
          }
          o += it.len;
        }
        assert.equal(o, s.len, `${what}: the walk covers the skb`);
      };
      for (let iter = 0; iter < 150; iter++) {
        const m = chain(R(2) === 0 ? 400 : 0, true);
        check(m, 'built');
        const s = m.skb;
        for (let k = 0; k < 12; k++) {
          const L = s.len;
          const op = R(8);
          const off = R(L + 1);
          const len = R(L - off + 1);
          const readable = m.rd.slice(off, off + len).every(Boolean);
          if (op <= 1) {
            const dst = new Uint8Array(len);
            const r = skbCopyBits(s, off, dst, 0, len);
            assert.equal(r === 0, readable, `copy ${off}+${len}`);
            if (r === 0) assert.deepEqual([...dst], m.b.slice(off, off + len));
            assert.equal(skbRangeReadable(s, off, len), readable);
          } else if (op === 2) {
            const z = (x: number): number => (x === 0xffff ? 0 : x);
            if (readable) assert.equal(z(csumFold(skbChecksum(s, off, len, 0))), z(refSum(Uint8Array.from(m.b.slice(off, off + len)))), `csum ${off}+${len}`);
          } else if (op === 3) {
            const n = R(L + 2);
            const head = s.tail - s.data;
            const ok = pskbMayPull(s, n);
            if (ok) assert.ok(n <= L && m.rd.slice(0, n).every(Boolean) && s.tail - s.data >= n, `pull ${n}`);
            else assert.equal(s.tail - s.data, head, 'a refused pull changes nothing');
            check(m, `pull ${n}`);
          } else if (op === 4) {
            skbTrim(s, off);
            m.b.length = m.rd.length = off;
            check(m, `trim ${off}`);
          } else if (op === 5) {
            const ok = skbFlattenFragList(s);
            if (ok) assert.equal(s.fragList, null);
            check(m, 'flatten');
          } else if (op === 6) {
            const n = R(s.tail - s.data + 1);
            assert.ok(skbPull(s, n));
            m.b.splice(0, n);
            m.rd.splice(0, n);
            check(m, 'skbPull');
          } else {
            const o2 = chain(0, true);
            const hl = o2.skb.tail - o2.skb.data;
            skbPull(o2.skb, hl);
            o2.b.splice(0, hl);
            o2.rd.splice(0, hl);
            if (skbTryCoalesce(s, o2.skb)) {
              m.b.push(...o2.b);
              m.rd.push(...o2.rd);
              assert.equal(o2.skb.len, 0);
            }
            skbFree(o2.skb);
            check(m, 'coalesce');
          }
        }
        skbFree(s);
      }
      assertReleased(env);
    });
  }
});
