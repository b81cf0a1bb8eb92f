/**
 * Byte-exact sockaddr_in / sockaddr_in6 encoding and decoding, the fd table (lowest free fd,
 * EMFILE, stdio placeholders, cloexec), fcntl / FIONBIO, and wait-queue wakes that remove
 * entries while they run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../src/index.js';
import { InetAddr } from '../../src/inet/index.js';
import {
  FdTable, TtyFile, WaitEntry, WaitQueue, decodeSockaddr, encodeSockaddr, sockaddrBytes, sockaddrFor,
} from '../../src/socket/index.js';
import { eq, makePair, v4, v6 } from './helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('sockaddr encoding', () => {
  it('sockaddr_in: family LE, port BE, address BE, 8 zero bytes', () => {
    assert.equal(hex(sockaddrBytes(v4('10.0.0.2', 5201))), '0200' + '1451' + '0a000002' + '0000000000000000');
  });

  it('sockaddr_in6: family LE, port BE, flowinfo BE, address, scope id LE', () => {
    const sa = { family: C.AF_INET6, addr: InetAddr.parse('fe80::1'), port: 443, flowinfo: 0x12345, scopeId: 3 };
    assert.equal(hex(sockaddrBytes(sa)), '0a00' + '01bb' + '00012345' + 'fe800000000000000000000000000001' + '03000000');
  });

  it('an IPv4 peer of an AF_INET6 socket is a v4-mapped sockaddr_in6', () => {
    const sa = sockaddrFor(C.AF_INET6, InetAddr.parse('10.0.0.1'), 80);
    assert.equal(hex(sockaddrBytes(sa)), '0a00' + '0050' + '00000000' + '00000000000000000000ffff0a000001' + '00000000');
  });

  it('decode round-trips, honours lengths, and leaves unknown families to the caller', () => {
    const b = new Uint8Array(40);
    const sa6 = v6('2001:db8::7', 9);
    assert.equal(encodeSockaddr(sa6, b, 4), 28);
    const d = decodeSockaddr(b, 4, 28)!;
    assert.equal(d.family, C.AF_INET6);
    assert.equal(String(d.addr), '2001:db8::7');
    assert.equal(d.port, 9);
    assert.equal(decodeSockaddr(b, 4, 24)!.scopeId, 0, 'RFC 2133 size: no scope id');
    assert.equal(decodeSockaddr(b, 4, 23), null, 'too short for sockaddr_in6');
    assert.equal(encodeSockaddr(sa6, new Uint8Array(27)), -1, 'no room');
    const d4 = decodeSockaddr(sockaddrBytes(v4('192.168.1.9', 65535)))!;
    assert.equal(String(d4.addr), '192.168.1.9');
    assert.equal(d4.port, 65535);
    assert.equal(decodeSockaddr(new Uint8Array([2, 0, 1])), null);
    assert.equal(decodeSockaddr(new Uint8Array([0x63, 0, 0, 0]))!.family, 0x63);
  });

  it('the syscall layer takes raw sockaddr bytes', () => {
    const p = makePair();
    const fd = p.b.sys.socket(C.AF_INET6, C.SOCK_STREAM, 0);
    eq(p.b.sys.bind(fd, sockaddrBytes(v6('::ffff:10.0.0.2', 6000))), 0);
    const out = { addr: null as ReturnType<typeof decodeSockaddr> };
    eq(p.b.sys.getsockname(fd, out), 0);
    assert.equal(hex(sockaddrBytes(out.addr!)), '0a00' + '1770' + '00000000' + '00000000000000000000ffff0a000002' + '00000000');
    p.net.close();
  });
});

describe('fd table', () => {
  it('lowest free fd, stdio placeholders, EMFILE at the limit', () => {
    const t = new FdTable(6);
    assert.equal(t.size, 3);
    assert.equal(t.install(new TtyFile()), 3);
    assert.equal(t.install(new TtyFile()), 4);
    assert.equal(t.close(3), 0);
    assert.equal(t.close(3), -ERRNO.EBADF);
    assert.equal(t.close(1), 0);
    assert.equal(t.install(new TtyFile()), 1, 'lowest first');
    assert.equal(t.install(new TtyFile()), 3);
    assert.equal(t.install(new TtyFile()), 5);
    assert.equal(t.install(new TtyFile()), -ERRNO.EMFILE);
    t.closeAll();
    assert.equal(t.size, 0);
  });

  it('fcntl O_NONBLOCK and FIONBIO switch blocking; F_SETFD sets close-on-exec', () => {
    const p = makePair();
    const s = p.a.sys;
    const fd = s.socket(C.AF_INET, C.SOCK_STREAM, 0);
    eq(s.fcntl(fd, C.F_GETFL), C.O_RDWR);
    eq(s.fcntl(fd, C.F_SETFL, C.O_NONBLOCK | 0x400), 0);
    eq(s.fcntl(fd, C.F_GETFL), C.O_RDWR | C.O_NONBLOCK);
    eq(s.ioctl(fd, C.FIONBIO, 0), 0);
    eq(s.fcntl(fd, C.F_GETFL), C.O_RDWR);
    eq(s.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC), 0);
    eq(s.fcntl(fd, C.F_GETFD), C.FD_CLOEXEC);
    // dma-buf and netlink sockets have fds in the same table
    const dm = p.a.allocDeviceMemory(4096);
    eq(dm.fd, fd + 1);
    const nl = p.a.netlink();
    assert.equal(p.a.kernel.files.get(fd + 2)?.kind, 'netlink');
    eq(s.close(fd + 2), 0);
    assert.ok(nl.closed, 'close(fd) closes the netlink socket');
    p.a.closeDeviceMemory(dm);
    assert.ok(dm.fdClosed);
    eq(s.close(fd + 1), 'EBADF');
    p.net.close();
  });
});

describe('wait queues', () => {
  class Rec extends WaitEntry {
    hits: number[] = [];
    constructor(private readonly onWake?: (e: Rec) => void) {
      super();
    }
    wake(mask: number): void {
      this.hits.push(mask);
      this.onWake?.(this);
    }
  }

  it('entries may remove themselves and others while woken; nested wakes fold into one more round', () => {
    const q = new WaitQueue();
    const c = new Rec();
    const a = new Rec((e) => q.remove(e));
    const b = new Rec(() => q.remove(c));
    const d = new Rec((e) => {
      if (e.hits.length === 1) q.wake(8);
    });
    q.add(a);
    q.add(b);
    q.add(c);
    q.add(d);
    q.wake(1);
    assert.deepEqual(a.hits, [1]);
    assert.deepEqual(b.hits, [1, 8]);
    assert.deepEqual(c.hits, [], 'removed before its turn');
    assert.deepEqual(d.hits, [1, 8]);
    assert.equal(q.size, 2);
  });
});
