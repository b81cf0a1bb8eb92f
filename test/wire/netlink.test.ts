import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_OP_FLAGS, CTRL_ATTR_OP_ID, CTRL_CMD_GETFAMILY,
  GENL_HDRLEN, GENL_ID_CTRL, NLA_F_NESTED, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_ACK_TLVS,
  NLM_F_CAPPED, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST, NlMsgBuilder, attrNested, attrString, attrU16, attrU32,
  attrU64, attrU8, attrUint, emitNlError, findAttr, parseAttrs, parseNlError, parseNlMsgs,
} from '../../src/wire/index.js';
import { hex, toHex } from './helpers.js';

// CTRL_CMD_GETFAMILY for "netdev", as genl-ctrl-list / ynl send it (seq 1, pid 0).
const GETFAMILY = hex(`20 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
                       03 01 00 00 0b 00 02 00 6e 65 74 64 65 76 00 00`);

function getFamily(b: NlMsgBuilder): { start: number; nameOff: number } {
  const start = b.beginMsg(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, 1, 0);
  b.genlHeader(CTRL_CMD_GETFAMILY, 1);
  const nameOff = b.putString(CTRL_ATTR_FAMILY_NAME, 'netdev');
  b.endMsg(start);
  return { start, nameOff };
}

describe('netlink builder', () => {
  it('builds a CTRL_CMD_GETFAMILY request byte-exactly', () => {
    const b = new NlMsgBuilder(16);
    const { start, nameOff } = getFamily(b);
    assert.equal(start, 0);
    assert.equal(nameOff, NLMSG_HDRLEN + GENL_HDRLEN);
    assert.equal(b.offset, 32);
    assert.equal(toHex(b.bytes()), toHex(GETFAMILY));
  });

  it('parses the request back', () => {
    const msgs = parseNlMsgs(GETFAMILY);
    assert.equal(msgs.length, 1);
    assert.deepEqual(msgs[0], { type: GENL_ID_CTRL, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 1, pid: 0, off: 0, len: 32, payloadOff: 16 });
    assert.equal(GETFAMILY[msgs[0].payloadOff], CTRL_CMD_GETFAMILY);
    const attrs = parseAttrs(GETFAMILY, msgs[0].payloadOff + GENL_HDRLEN, msgs[0].len - NLMSG_HDRLEN - GENL_HDRLEN);
    assert.ok(attrs);
    assert.equal(attrs.length, 1);
    assert.deepEqual(attrs[0], { type: CTRL_ATTR_FAMILY_NAME, nested: false, off: 20, len: 7, payloadOff: 24 });
    assert.equal(attrString(GETFAMILY, attrs[0]), 'netdev');
  });

  it('writes integer, flag, byte and nested attributes with zero padding', () => {
    const b = new NlMsgBuilder(8);
    const start = b.beginMsg(0x1d, NLM_F_REQUEST, 0x01020304, 0x0a0b0c0d);
    b.genlHeader(1, 2);
    b.putU8(1, 0xab);
    b.putU16(2, 0x1234);
    b.putU32(3, 0xdeadbeef);
    b.putU64(4, 0x0102030405060708n);
    b.putUint(5, 7);
    b.putUint(6, 2 ** 40 + 3);
    b.putFlag(7);
    b.putBytes(8, hex('01 02 03'));
    const nest = b.beginNest(9);
    const inner = b.beginNest(1);
    b.putU32(CTRL_ATTR_OP_ID, 5);
    b.putU32(CTRL_ATTR_OP_FLAGS, 0xe);
    b.endNest(inner);
    b.endNest(nest);
    b.endMsg(start);
    const bytes = b.bytes();
    assert.equal(toHex(bytes), toHex(hex(`
      70 00 00 00 1d 00 01 00 04 03 02 01 0d 0c 0b 0a  01 02 00 00
      05 00 01 00 ab 00 00 00  06 00 02 00 34 12 00 00  08 00 03 00 ef be ad de
      0c 00 04 00 08 07 06 05 04 03 02 01  08 00 05 00 07 00 00 00
      0c 00 06 00 03 00 00 00 00 01 00 00  04 00 07 00  07 00 08 00 01 02 03 00
      18 00 09 80  14 00 01 80  08 00 01 00 05 00 00 00  08 00 02 00 0e 00 00 00`)));
    const [m] = parseNlMsgs(bytes);
    const attrs = parseAttrs(bytes, m.payloadOff + GENL_HDRLEN, m.len - NLMSG_HDRLEN - GENL_HDRLEN);
    assert.ok(attrs);
    const get = (t: number) => { const a = findAttr(attrs, t); assert.ok(a, `attr ${t}`); return a; };
    assert.equal(attrU8(bytes, get(1)), 0xab);
    assert.equal(attrU16(bytes, get(2)), 0x1234);
    assert.equal(attrU32(bytes, get(3)), 0xdeadbeef);
    assert.equal(attrU64(bytes, get(4)), 0x0102030405060708n);
    assert.equal(attrUint(bytes, get(5)), 7);
    assert.equal(attrUint(bytes, get(6)), 2 ** 40 + 3);
    assert.equal(get(7).len, 0);
    assert.equal(toHex(bytes.subarray(get(8).payloadOff, get(8).payloadOff + get(8).len)), '01 02 03');
    const ops = get(9);
    assert.equal(ops.nested, true);
    const opList = attrNested(bytes, ops);
    assert.ok(opList && opList.length === 1 && opList[0].nested && opList[0].type === 1);
    const op = attrNested(bytes, opList[0]);
    assert.ok(op);
    assert.equal(attrU32(bytes, op[0]), 5);
    assert.equal(attrU32(bytes, op[1]), 0xe);
    assert.equal(findAttr(attrs, 99), undefined);
    assert.throws(() => attrU32(bytes, get(1)), RangeError);
    assert.throws(() => attrUint(bytes, get(2)), RangeError);
  });

  it('splits multi-message streams and rejects malformed ones with RangeError', () => {
    const b = new NlMsgBuilder();
    const s1 = b.beginMsg(GENL_ID_CTRL, NLM_F_MULTI, 9, 100);
    b.genlHeader(1, 1);
    b.putU16(CTRL_ATTR_FAMILY_ID, 0x1d);
    b.endMsg(s1);
    const s2 = b.beginMsg(NLMSG_DONE, NLM_F_MULTI, 9, 100);
    b.putRawS32(0);
    b.endMsg(s2);
    const bytes = b.bytes();
    const msgs = parseNlMsgs(bytes);
    assert.deepEqual(msgs.map((m) => [m.type, m.off, m.len]), [[GENL_ID_CTRL, 0, 28], [NLMSG_DONE, 28, 20]]);
    assert.deepEqual(parseNlMsgs(new Uint8Array(0)), []);
    const short = bytes.slice();
    short[0] = 15;
    assert.throws(() => parseNlMsgs(short), RangeError);
    const over = bytes.slice();
    over[28] = 21;
    assert.throws(() => parseNlMsgs(over), RangeError);
    assert.throws(() => parseNlMsgs(bytes.subarray(0, 40)), RangeError);
  });

  it('parseAttrs returns null on malformed attributes', () => {
    assert.equal(parseAttrs(hex('03 00 01 00'), 0, 4), null);
    assert.equal(parseAttrs(hex('09 00 01 00 00 00 00 00'), 0, 8), null);
    assert.equal(parseAttrs(hex('08 00 01 00 00 00 00 00 00 00'), 0, 10), null);
    assert.equal(parseAttrs(hex('08 00 01 00'), 0, 8), null);
    assert.deepEqual(parseAttrs(hex('05 00 01 00 aa'), 0, 5)?.map((a) => a.len), [1]);
    assert.deepEqual(parseAttrs(hex(''), 0, 0), []);
    const nested = parseAttrs(hex(`08 00 03 c0 00 00 00 00`), 0, 8);
    assert.deepEqual(nested?.map((a) => [a.type, a.nested]), [[3, true]]);
    assert.equal(NLA_F_NESTED, 0x8000);
  });

  it('round-trips random attribute lists (property)', () => {
    const attr = fc.oneof(
      fc.record({ k: fc.constant('u32' as const), t: fc.integer({ min: 1, max: 0x3fff }), v: fc.nat(0xffffffff) }),
      fc.record({ k: fc.constant('str' as const), t: fc.integer({ min: 1, max: 0x3fff }), v: fc.string({ maxLength: 20 }).map((s) => s.replace(/\0/g, '')) }),
      fc.record({ k: fc.constant('uint' as const), t: fc.integer({ min: 1, max: 0x3fff }), v: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) }),
    );
    fc.assert(fc.property(fc.array(attr, { maxLength: 8 }), (list) => {
      const b = new NlMsgBuilder(4);
      const s = b.beginMsg(0x20, NLM_F_REQUEST | NLM_F_DUMP, 1, 2);
      for (const a of list) {
        if (a.k === 'u32') b.putU32(a.t, a.v);
        else if (a.k === 'str') b.putString(a.t, a.v);
        else b.putUint(a.t, a.v);
      }
      b.endMsg(s);
      const bytes = b.bytes();
      assert.equal(bytes.length % 4, 0);
      const [m] = parseNlMsgs(bytes);
      assert.equal(m.len, bytes.length);
      const attrs = parseAttrs(bytes, m.payloadOff, m.len - NLMSG_HDRLEN);
      assert.ok(attrs);
      assert.equal(attrs.length, list.length);
      list.forEach((a, i) => {
        assert.equal(attrs[i].type, a.t);
        const got = a.k === 'u32' ? attrU32(bytes, attrs[i]) : a.k === 'str' ? attrString(bytes, attrs[i]) : attrUint(bytes, attrs[i]);
        assert.equal(got, a.v);
      });
    }));
  });
});

describe('netlink errors', () => {
  const [req] = parseNlMsgs(GETFAMILY);

  it('emits an ACK (error 0, capped) byte-exactly', () => {
    const b = new NlMsgBuilder();
    emitNlError(b, req, GETFAMILY, 0);
    const out = b.bytes();
    assert.equal(toHex(out), toHex(hex(`24 00 00 00 02 00 00 01 01 00 00 00 00 00 00 00  00 00 00 00
                                        20 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00`)));
    const [m] = parseNlMsgs(out);
    assert.equal(m.type, NLMSG_ERROR);
    assert.equal(m.flags, NLM_F_CAPPED);
    assert.deepEqual(parseNlError(out, m), { error: 0 });
  });

  it('emits an error with extack message and bad-attribute offset byte-exactly', () => {
    const b = new NlMsgBuilder();
    emitNlError(b, req, GETFAMILY, 22, { msg: 'bad', badAttrOff: 20, missType: 1 });
    const out = b.bytes();
    assert.equal(toHex(out), toHex(hex(`3c 00 00 00 02 00 00 03 01 00 00 00 00 00 00 00  ea ff ff ff
                                        20 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
                                        08 00 01 00 62 61 64 00  08 00 02 00 14 00 00 00  08 00 05 00 01 00 00 00`)));
    const [m] = parseNlMsgs(out);
    assert.equal(m.flags, NLM_F_CAPPED | NLM_F_ACK_TLVS);
    assert.deepEqual(parseNlError(out, m), { error: -22, extackMsg: 'bad', badAttrOff: 20, missType: 1 });
  });

  it('computes bad-attribute offsets from builder offsets', () => {
    const rb = new NlMsgBuilder();
    rb.beginMsg(0, 0, 0, 0); // an unrelated message first, so offsets are not message-relative
    rb.endMsg(0);
    const { start, nameOff } = getFamily(rb);
    const all = rb.bytes();
    const reqMsg = parseNlMsgs(all)[1];
    const b = new NlMsgBuilder();
    emitNlError(b, reqMsg, all.subarray(start), -2, { msg: 'no such family', badAttrOff: nameOff - start });
    const out = b.bytes();
    const info = parseNlError(out, parseNlMsgs(out)[0]);
    assert.deepEqual(info, { error: -2, extackMsg: 'no such family', badAttrOff: 20 });
  });

  it('an ACK carries only the extack message (warning)', () => {
    const b = new NlMsgBuilder();
    emitNlError(b, req, GETFAMILY, 0, { msg: 'deprecated', badAttrOff: 20, missType: 3 });
    const out = b.bytes();
    const [m] = parseNlMsgs(out);
    assert.equal(m.flags, NLM_F_CAPPED | NLM_F_ACK_TLVS);
    assert.deepEqual(parseNlError(out, m), { error: 0, extackMsg: 'deprecated' });
    const b2 = new NlMsgBuilder();
    emitNlError(b2, req, GETFAMILY, 0, { badAttrOff: 20 });
    assert.equal(parseNlMsgs(b2.bytes())[0].flags, NLM_F_CAPPED);
  });

  it('parses an uncapped kernel error (full request echoed)', () => {
    const out = hex(`40 00 00 00 02 00 00 02 01 00 00 00 00 00 00 00  ed ff ff ff
                     ${toHex(GETFAMILY)}
                     0c 00 01 00 6f 6f 70 73 00 00 00 00`);
    const [m] = parseNlMsgs(out);
    assert.deepEqual(parseNlError(out, m), { error: -19, extackMsg: 'oops' });
    assert.throws(() => parseNlError(GETFAMILY, parseNlMsgs(GETFAMILY)[0]), RangeError);
  });
});
