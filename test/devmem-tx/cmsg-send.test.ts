/**
 * `sockCmsgSend` (Linux sock_cmsg_send / __sock_cmsg_send) unit tests: the walk (CMSG_FIRSTHDR,
 * CMSG_NXTHDR with CMSG_ALIGN, CMSG_OK), the SOL_SOCKET types it knows with their exact payload
 * sizes, the ones it refuses, and `encodeSendCmsg` / `devmemTxControl` byte layouts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants as C, ERRNO } from '../../src/index.js';
import { SockcmCookie, devmemTxControl, encodeSendCmsg, sockCmsgSend, type CmsgSendSock, type SendCmsg } from '../../src/socket/index.js';

const TCP: CmsgSendSock = { isTcp: true, txtime: false, tsflags: 0 };
const UDP_TS_ID: CmsgSendSock = { isTcp: false, txtime: true, tsflags: 1 << 7 };

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function send(cmsgs: SendCmsg[], sk: CmsgSendSock = TCP): { r: number; c: SockcmCookie } {
  const b = encodeSendCmsg(cmsgs);
  const c = new SockcmCookie();
  return { r: sockCmsgSend(b, b.length, sk, c), c };
}

describe('sock_cmsg_send', () => {
  it('devmemTxControl: 24 bytes, cmsg_len 20, SOL_SOCKET, SCM_DEVMEM_DMABUF (79), the id little-endian, 4 bytes of padding', () => {
    assert.deepEqual([...devmemTxControl(0x01020304)], [
      20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 79, 0, 0, 0, 4, 3, 2, 1, 0, 0, 0, 0,
    ]);
    const c = new SockcmCookie();
    assert.equal(sockCmsgSend(devmemTxControl(7), 24, TCP, c), 0);
    assert.equal(c.dmabufId, 7);
  });

  it('SO_MARK, SO_PRIORITY, SO_TIMESTAMPING (TX record bits only) fill the cookie; sizes are exact', () => {
    const { r, c } = send([
      { level: C.SOL_SOCKET, type: 36, data: u32(0xbeef) },
      { level: C.SOL_SOCKET, type: 12, data: u32(5) },
      { level: C.SOL_SOCKET, type: 37, data: u32(0x2 | 0x200) },
    ]);
    assert.equal(r, 0);
    assert.deepEqual([c.mark, c.hasMark, c.priority, c.hasPriority, c.tsflags, c.hasTsflags], [0xbeef, true, 5, true, 0x202, true]);
    for (const type of [36, 12, 37, 65]) assert.equal(send([{ level: C.SOL_SOCKET, type, data: new Uint8Array(8) }]).r, -ERRNO.EINVAL, `type ${type} with 8 bytes`);
    // an RX timestamping bit is not a TX record bit
    assert.equal(send([{ level: C.SOL_SOCKET, type: 37, data: u32(0x4) }]).r, -ERRNO.EINVAL);
  });

  it('SCM_TXTIME needs SO_TXTIME; SCM_TS_OPT_ID is refused on TCP and needs OPT_ID; SCM_RIGHTS/CREDENTIALS are ignored', () => {
    assert.equal(send([{ level: C.SOL_SOCKET, type: 61, data: new Uint8Array(8) }]).r, -ERRNO.EINVAL);
    assert.equal(send([{ level: C.SOL_SOCKET, type: 61, data: new Uint8Array(8) }], UDP_TS_ID).r, 0);
    assert.equal(send([{ level: C.SOL_SOCKET, type: 81, data: u32(1) }]).r, -ERRNO.EINVAL);
    assert.equal(send([{ level: C.SOL_SOCKET, type: 81, data: u32(1) }], UDP_TS_ID).r, 0);
    assert.equal(send([{ level: C.SOL_SOCKET, type: 1, data: u32(3) }, { level: C.SOL_SOCKET, type: 2, data: new Uint8Array(12) }]).r, 0);
  });

  it('the walk: other levels skipped, the first bad cmsg decides, a short tail ends it, CMSG_OK guards the length', () => {
    const b = encodeSendCmsg([
      { level: 41, type: 67, data: new Uint8Array(3) },
      { level: C.SOL_SOCKET, type: 79, data: u32(9) },
      { level: C.SOL_SOCKET, type: 999, data: u32(0) },
    ]);
    const c = new SockcmCookie();
    assert.equal(sockCmsgSend(b, b.length, TCP, c), -ERRNO.EINVAL, 'unknown SOL_SOCKET type');
    assert.equal(c.dmabufId, 9, 'the cmsgs before the bad one were taken');
    // the same buffer cut before the bad cmsg: fine
    assert.equal(sockCmsgSend(b, 24 + 24, TCP, new SockcmCookie()), 0);
    // fewer than 16 bytes left: no further cmsg
    assert.equal(sockCmsgSend(b, 24 + 24 + 15, TCP, new SockcmCookie()), 0);
    // a cmsg_len that runs past msg_controllen
    assert.equal(sockCmsgSend(b, 24 + 24 + 16, TCP, new SockcmCookie()), -ERRNO.EINVAL);
    // an empty control buffer
    assert.equal(sockCmsgSend(new Uint8Array(0), 0, TCP, new SockcmCookie()), 0);
  });
});
