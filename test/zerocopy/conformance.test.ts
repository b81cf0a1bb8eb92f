/**
 * The interpreter's error-queue support, with scripts written for these tests: structured
 * `sock_extended_err` and `scm_timestamping` cmsg data match field by field and fail precisely on
 * a wrong field or a timestamp outside the tolerance; MSG_ERRQUEUE never blocks; the v4-mapped
 * mode reads IPV6_RECVERR; per-iovec zero-copy sends split at 17 frags.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { modeDefines, runScriptText, type Mode, type ScriptResult } from '../../src/conformance/runner.js';

const run = (text: string, mode: Mode = 'ipv4'): ScriptResult => runScriptText(text, { mode, dir: '/nonexistent', defines: modeDefines(mode) });

const OPEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 setsockopt(3, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+0 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
`;

const zcRead = (info: number, data: number, code = 'SO_EE_CODE_ZEROCOPY_COPIED'): string => `+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE,
  msg_control=[{cmsg_level=CMSG_LEVEL_IP, cmsg_type=CMSG_TYPE_RECVERR,
    cmsg_data={ee_errno=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ee_type=0, ee_code=${code}, ee_info=${info}, ee_data=${data}}}]}, MSG_ERRQUEUE) = 0
`;

const SEND = `+0 send(4, ..., 4000, MSG_ZEROCOPY) = 4000
+0 > P. 1:4001(4000) ack 1
+0 < . 1:1(0) ack 4001 win 257
`;

function expectFail(r: ScriptResult, ...parts: string[]): void {
  assert.equal(r.result, 'fail', `expected a failure, got ${r.result}: ${r.reason}`);
  for (const p of parts) assert.ok(r.reason.includes(p), `reason contains '${p}': ${r.reason}`);
}

describe('conformance: error-queue cmsgs', () => {
  for (const mode of ['ipv4', 'ipv6', 'ipv4-mapped-ipv6'] as const) {
    it(`a zero-copy notification matches field by field (${mode})`, () => {
      const r = run(OPEN + SEND + zcRead(0, 0), mode);
      assert.equal(r.result, 'pass', r.reason);
    });
  }

  it('a wrong ee_data, ee_code or level fails naming the field', () => {
    expectFail(run(OPEN + SEND + zcRead(0, 5)), 'ee_data', 'ee_data=0');
    expectFail(run(OPEN + SEND + zcRead(0, 0, '0')), 'ee_code');
    // the v4-mapped socket is AF_INET6: SOL_IP would be wrong there
    const v4levels = OPEN + SEND + zcRead(0, 0).replace('CMSG_LEVEL_IP', 'SOL_IP').replace('CMSG_TYPE_RECVERR', 'IP_RECVERR');
    expectFail(run(v4levels, 'ipv4-mapped-ipv6'), 'cmsgs');
  });

  it('an empty error queue answers EAGAIN at once, on a blocking socket', () => {
    const r = run(`${OPEN}+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=0, msg_control=[]}, MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)
+0 send(4, ..., 10, 0) = 10
`);
    assert.equal(r.result, 'pass', r.reason);
  });

  it('an unknown cmsg_data field is a skip that names it', () => {
    const r = run(OPEN + SEND + zcRead(0, 0).replace('ee_type=0', 'ee_bogus=0'));
    assert.equal(r.result, 'skip');
    assert.ok(r.reason.includes('ee_bogus'), r.reason);
  });

  const TS = `+0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID], 4) = 0
+.01 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack 1
`;
  const tsRead = (nsec: number): string => `+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE|MSG_TRUNC,
  msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data={scm_sec=0,scm_nsec=${nsec}}},
    {cmsg_level=CMSG_LEVEL_IP, cmsg_type=CMSG_TYPE_RECVERR,
     cmsg_data={ee_errno=ENOMSG, ee_origin=SO_EE_ORIGIN_TIMESTAMPING, ee_type=0, ee_code=0, ee_info=SCM_TSTAMP_SCHED, ee_data=99}}]}, MSG_ERRQUEUE) = 0
`;

  it('scm_timestamping matches within the tolerance and fails outside it', () => {
    assert.equal(run(OPEN + TS + tsRead(10_000_000)).result, 'pass');
    assert.equal(run(OPEN + TS + tsRead(12_000_000)).result, 'pass', 'within 4 ms');
    expectFail(run(OPEN + TS + tsRead(20_000_000)), 'timestamp');
  });

  it('MSG_ZEROCOPY over 18 one-byte iovecs: 17 frags then 1 (each iovec its own buffer)', () => {
    const iov = new Array(18).fill('{..., 1}').join(', ');
    const r = run(`${OPEN}+0 sendmsg(4, {msg_name(...)=..., msg_iov(18)=[${iov}], msg_flags=0}, MSG_ZEROCOPY) = 18
+0 > P. 1:18(17) ack 1
+0 < . 1:1(0) ack 18 win 257
+0 > P. 18:19(1) ack 1
+0 < . 1:1(0) ack 19 win 257
${zcRead(0, 0)}`);
    assert.equal(r.result, 'pass', r.reason);
  });
});
