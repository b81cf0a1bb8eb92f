/**
 * VxlanLink: a `FrameLink` that carries Ethernet frames in VXLAN (RFC 7348) over UDP, IPv4 or
 * IPv6 outer, to a Linux kernel vxlan device, another VxlanLink, or any VTEP, on this machine or
 * across machines. Two transports (`io`): 'ffi' (the default when the koffi package loads) drives
 * one non-blocking socket through libc (`udp-ffi.ts`: a `recvfrom` into a reused buffer, a
 * synchronous `sendto`, nothing allocated per datagram); 'dgram' uses `node:dgram`.
 *
 * Contract:
 *  - `VxlanLink.open(opts)` binds the receive socket on `local` (default port 4789) and resolves
 *    once bound (it rejects with the socket's error, e.g. EADDRINUSE). Frames go to `remote`
 *    (default port 4789). The receive socket is never connected: a kernel VTEP picks the UDP
 *    source port per flow (a hash), so a connected socket would filter out its datagrams. With
 *    'dgram', by default the frames leave through a second socket connected to `remote` (no
 *    per-send address lookup in Node); `connectTx: false` sends from the receive socket instead.
 *    With 'ffi' frames always leave from the bound socket (`connectTx` is ignored);
 *  - receive: each datagram is checked like Linux's `vxlan_rcv` (header, flags, reserved bytes,
 *    an inner Ethernet header), its VNI must be ours and, unless `anySource`, its source address
 *    must be `remote`'s. Anything else is counted and dropped, never thrown. Good frames go to
 *    `rx.receive` (which copies them), or to our FramePort's `receiveInBatch` (the NIC takes the
 *    frame inside the read callback: an echo is answered there). With 'ffi' one readiness event
 *    reads up to `RX_BUDGET` datagrams with `recvmmsg` (into slots the size of the largest frame
 *    the MTU allows: a longer datagram is cut, counted `rxTooLong` and dropped) and ends the
 *    batch with `rx.flush()` (the device's poll: GRO flush) in the same callback; with 'dgram'
 *    the device's poll runs after this event-loop turn's I/O callbacks (libuv's batch of reads);
 *  - send ('ffi'): the frame is copied behind the 8-byte header into the burst (`TxBatch`), which
 *    leaves when the burst ends: at the end of the read (or writable) callback that caused it,
 *    else in a microtask after the code that sent it (timers, the application): one `sendmsg`
 *    per run of equal-size datagrams, cut into datagrams by the kernel (UDP GSO; `udpGso: false`,
 *    or a kernel that refuses it, sends each at once). A full socket buffer (EAGAIN) keeps the
 *    burst and makes `send` return false (frame not taken) until the socket is writable: then
 *    the burst leaves and `rx.drain()` follows. Send ('dgram'): the frame is copied
 *    into a ring arena (`SendRing`) behind the header and handed to dgram; the space comes back
 *    on the send callback. `send` returns false when the arena or the in-flight count is full or
 *    libuv's send queue is above `sendQueueBytes`; it then calls `rx.drain()` once the queue is
 *    below half of both bounds. A frame longer than the link MTU allows is dropped and counted
 *    (taken, like a NIC drops it);
 *  - `loss: { tx, rx }` with `seed` drops frames on purpose, each direction from its own seeded
 *    stream: the same seed drops the same frame numbers (for tests of recovery over real links);
 *  - socket errors go to `rx.error` and are counted; `close()` closes both sockets; after it
 *    resolves nothing is called on `rx`.
 *
 * Batching ('ffi'): up to `RX_BUDGET` datagrams per readiness event in one `recvmmsg` (or a few),
 * then the device's poll (GRO); a transmit burst in one `sendmsg` per run of equal-size
 * datagrams (up to 64 or 64 KiB). Over a
 * kernel VTEP the burst also arrives as one: its vxlan GRO cell merges the inner segments, and its
 * reader wakes once per burst instead of once per frame. Node's dgram offers neither.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Rng } from '../../rand/index.js';
import { ErrnoError } from '../../uapi/errno.js';
import type { FrameLink, FrameMeta, LinkOffloads, LinkReceiver } from '../frame-link.js';
import { isBatchReceiver, type BatchLinkReceiver } from '../frame-port.js';
import { SendRing } from './send-ring.js';
import { TxBatch } from './tx-batch.js';
import { FFI_EAGAIN, FfiUdp, ffiUnavailable } from './udp-ffi.js';
import {
  VXLAN_BAD_FLAGS, VXLAN_BAD_RESERVED, VXLAN_BAD_SHORT, VXLAN_HLEN, VXLAN_PORT, VXLAN_VNI_MAX, vxlanCheck,
  vxlanWriteHeader,
} from './header.js';

const ETH_HLEN = 14;
/** an 802.1Q tag may ride on a full-MTU frame */
const VLAN_HLEN = 4;
/** largest UDP payload: 65535 minus the IPv4 (20) or nothing for IPv6 (its payload length excludes it) minus UDP (8) */
const MAX_UDP_PAYLOAD_V4 = 65535 - 20 - 8;
const MAX_UDP_PAYLOAD_V6 = 65535 - 8;
/** datagrams one readiness event reads ('ffi') before the batch ends; the rest wait for the next */
const RX_BUDGET = 64;

export interface VxlanEndpoint {
  /** IPv4 or IPv6 literal (an IPv6 link-local may carry a `%scope`) */
  address: string;
  /** UDP port (default 4789) */
  port?: number;
}

export interface VxlanLinkOptions {
  local: VxlanEndpoint;
  remote: VxlanEndpoint;
  /** VXLAN network identifier, 0..16777215 */
  vni: number;
  /** L3 MTU of the inner frames (default 1450 for an IPv4 outer, 1430 for IPv6: 1500 minus the encapsulation) */
  mtu?: number;
  /** accept datagrams from any source address (default: only from `remote.address`) */
  anySource?: boolean;
  /** the UDP transport: libc through koffi ('ffi', the default when koffi loads) or `node:dgram` */
  io?: 'ffi' | 'dgram';
  /**
   * 'ffi': send each burst of frames (what the stack transmits before control returns to the
   * event loop) with one `sendmsg` that the kernel cuts into datagrams (UDP GSO, Linux ≥ 4.18;
   * default true). Off, or while the kernel refuses it, every frame is its own `sendmsg`
   */
  udpGso?: boolean;
  /** 'dgram': send through a second socket connected to `remote` (default true) */
  connectTx?: boolean;
  /** 'dgram': bytes of the send arena (default 4 MiB, at least two full datagrams) */
  sendRingBytes?: number;
  /** 'dgram': datagrams in flight at most (default 2048) */
  maxInflight?: number;
  /** 'dgram': libuv send-queue bytes above which `send` reports busy (default 1 MiB) */
  sendQueueBytes?: number;
  /** SO_RCVBUF / SO_SNDBUF requests (default 4 MiB each; the kernel clamps to rmem_max/wmem_max) */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** deliberate loss probability per direction, drawn from streams seeded by `seed` */
  loss?: { tx?: number; rx?: number };
  seed?: number;
}

export interface VxlanLinkStats {
  rxPackets: number;
  rxBytes: number;
  /** shorter than the VXLAN header plus an Ethernet header */
  rxShort: number;
  /** I flag clear or an unknown flag set */
  rxBadFlags: number;
  /** reserved bytes not zero */
  rxBadReserved: number;
  /** well-formed, other VNI */
  rxOtherVni: number;
  /** from an address other than the remote's */
  rxForeignSource: number;
  /** arrived before `attach` or after `close` */
  rxNoReceiver: number;
  /** dropped by the `loss.rx` injection */
  rxLossDrops: number;
  /** 'ffi': longer than the link MTU allows (with a VLAN tag): cut by the receive slot, dropped */
  rxTooLong: number;
  txPackets: number;
  txBytes: number;
  /** `send` returned false */
  txBusy: number;
  /** frame longer than the MTU allows, or shorter than an Ethernet header */
  txBadLength: number;
  /** `send` after `close` (dropped) */
  txAfterClose: number;
  /** dropped by the `loss.tx` injection */
  txLossDrops: number;
  /**
   * send callbacks with an error, and socket 'error' events; 'ffi': frames lost to a failed send,
   * and frames a `close()` found still waiting for a full socket
   */
  txErrors: number;
  /** socket errors; 'ffi': failed reads (other than EAGAIN) */
  errors: number;
  /** 'ffi': sendmsg calls that carried a burst of datagrams (UDP GSO), and the datagrams in them */
  txGsoSends: number;
  txGsoDatagrams: number;
  /** 'ffi': GSO sends the kernel refused (a path MTU below the datagrams, no UDP_SEGMENT): each is followed by a back-off of single sends */
  txGsoRefused: number;
}

function newStats(): VxlanLinkStats {
  return {
    rxPackets: 0, rxBytes: 0, rxShort: 0, rxBadFlags: 0, rxBadReserved: 0, rxOtherVni: 0, rxForeignSource: 0,
    rxNoReceiver: 0, rxLossDrops: 0, rxTooLong: 0, txPackets: 0, txBytes: 0, txBusy: 0, txBadLength: 0, txAfterClose: 0, txLossDrops: 0,
    txErrors: 0, errors: 0, txGsoSends: 0, txGsoDatagrams: 0, txGsoRefused: 0,
  };
}

/** a bad option: EINVAL with the reason, as the rest of the API reports it */
function inval(msg: string): ErrnoError {
  return new ErrnoError('EINVAL', 'vxlan', { msg });
}

/** canonical text of an address as Node's `rinfo.address` reports it, and its family */
function canonical(address: string, what: string): { address: string; bare: string; scope: string; family: 4 | 6 } {
  const pct = address.indexOf('%');
  const text = pct >= 0 ? address.slice(0, pct) : address;
  const fam = net.isIP(text);
  if (fam === 0) throw inval(`${what} address is not an IP literal: '${address}'`);
  if (fam === 4) return { address: text, bare: text, scope: '', family: 4 };
  const bare = new net.SocketAddress({ address: text, family: 'ipv6' }).address;
  const scope = pct >= 0 ? address.slice(pct + 1) : '';
  return { address: bare + (pct >= 0 ? address.slice(pct) : ''), bare, scope, family: 6 };
}

function checkPort(p: number | undefined, what: string, allowZero: boolean): number {
  const port = p ?? VXLAN_PORT;
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw inval(`${what} port out of range: ${String(p)}`);
  }
  return port;
}

function posInt(v: number | undefined, def: number, what: string): number {
  const n = v ?? def;
  if (!Number.isSafeInteger(n) || n < 1) throw inval(`${what} must be a positive integer: ${String(v)}`);
  return n;
}

function checkProb(p: number | undefined, what: string): number {
  const v = p ?? 0;
  if (!(v >= 0 && v < 1)) throw inval(`loss.${what} must be in [0, 1): ${String(p)}`);
  return v;
}

function bindSocket(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.bind({ port, address, exclusive: true }, () => {
      sock.removeListener('error', onError);
      resolve();
    });
  });
}

function connectSocket(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.connect(port, address, () => {
      sock.removeListener('error', onError);
      resolve();
    });
  });
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

export class VxlanLink implements FrameLink {
  readonly kind = 'vxlan';
  readonly mtu: number;
  readonly offloads: LinkOffloads = {};
  /** the UDP transport in use */
  readonly io: 'ffi' | 'dgram';
  readonly vni: number;
  readonly family: 4 | 6;
  readonly stats: VxlanLinkStats = newStats();
  /** the bound receive address and port (port resolved when 0 was asked for) */
  readonly localAddress: string;
  private boundPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** `remote`'s address as `rinfo.address` shows it (no scope) */
  private readonly remoteMatch: string;
  private readonly localBare: string;
  private readonly localScope: string;
  private readonly remoteScope: string;

  // 'dgram'
  private readonly rxSock: dgram.Socket | null = null;
  private txSock: dgram.Socket | null = null;
  private readonly ring: SendRing | null = null;
  // 'ffi': the socket (with its receive slots and send area), the transmit burst
  private ffi: FfiUdp | null = null;
  private txBatch: TxBatch | null = null;
  private readonly udpGso: boolean;
  /** 'ffi': inside a socket callback, whose end flushes the burst (no microtask needed) */
  private inIo = false;
  private flushQueued = false;
  /** 'ffi': the last frame refused as busy had drawn "keep" from the tx loss stream */
  private txDrawHeld = false;
  /** 'ffi': per receive slot, a view of its last frame and that frame's length (bulk frames share a length: no allocation) */
  private readonly rxSlotViews: (Uint8Array | null)[] = [];
  private readonly rxSlotViewLens: number[] = [];
  /** the VXLAN header ('ffi': each datagram's prefix; 'dgram': unused) */
  private readonly txBuf: Uint8Array;
  private readonly maxFrame: number;
  private readonly sendQueueBytes: number;
  private readonly anySource: boolean;
  private readonly lossTx: number;
  private readonly lossRx: number;
  private readonly rngTx: Rng;
  private readonly rngRx: Rng;
  private rx: LinkReceiver | null = null;
  /**
   * the receiver's at-once entry (our FramePort): the frame goes through the NIC inside the
   * 'message' callback (a ping is answered there, no setImmediate hop); GRO waits for the poll
   * the port schedules after this turn's I/O callbacks
   */
  private batchRx: BatchLinkReceiver | null = null;
  private closed = false;
  private wantDrain = false;
  private closing: Promise<void> | null = null;

  /** send-completion callback, one for every datagram (completions arrive in order) */
  private readonly onSent = (err: Error | null): void => {
    this.ring?.release();
    if (err) {
      this.stats.txErrors++;
      if (!this.closed) this.rx?.error(err);
    }
    if (this.wantDrain && !this.closed && this.belowLowWater()) {
      this.wantDrain = false;
      this.rx?.drain();
    }
  };

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.receiveDatagram(msg, rinfo.address);
  };

  /** 'ffi': the socket is readable: up to RX_BUDGET datagrams, then the batch's flush */
  private readonly onReadable = (): void => {
    const sock = this.ffi;
    if (sock === null) return;
    let delivered = false;
    this.inIo = true;
    try {
      let budget = RX_BUDGET;
      while (budget > 0 && !this.closed) {
        const n = sock.recvMany(budget);
        if (n < 0) {
          if (n !== -FFI_EAGAIN) {
            this.stats.errors++;
            if (!this.closed) this.rx?.error(new ErrnoError(-n, 'recvmmsg'));
          }
          break;
        }
        for (let i = 0; i < n && !this.closed; i++) {
          if (sock.slotTruncated(i)) {
            this.stats.rxTooLong++;
            continue;
          }
          if (this.rxFrame(sock.slotBuf(i), sock.slotLen(i), this.anySource || sock.slotFromPeer(i), i)) delivered = true;
        }
        budget -= n;
        if (n < sock.rxSlots) break; // the socket is empty (a full vector may leave more)
      }
      if (delivered && !this.closed) this.rx?.flush();
    } finally {
      this.inIo = false;
      // what the batch made the stack send (ACKs, replies, the data they clocked out) is one
      // burst; it leaves even when a receiver threw
      this.flushTx();
    }
  };

  /** 'ffi': the socket takes datagrams again after an EAGAIN: the waiting burst first, then the stack */
  private readonly onWritable = (): void => {
    if (this.closed) return;
    const tb = this.txBatch;
    if (tb !== null && tb.pending > 0 && tb.flush() !== 0) {
      this.ffi?.wantWrite();
      return;
    }
    if (this.wantDrain) {
      this.wantDrain = false;
      this.inIo = true;
      try {
        this.rx?.drain();
      } finally {
        this.inIo = false;
        this.flushTx();
      }
    }
  };

  /** 'ffi': the end of a burst sent outside a socket callback (timers, the application) */
  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.flushTx();
  };

  /** 'ffi': sends the burst; a full socket makes the link busy until writable */
  private flushTx(): void {
    const tb = this.txBatch;
    if (tb === null || tb.pending === 0 || this.closed) return;
    if (tb.flush() !== 0) {
      this.wantDrain = true;
      this.ffi?.wantWrite();
    }
  }

  /** 'ffi': a send failed for good: the frames are lost, as a NIC drops what it cannot send */
  private readonly onTxError = (errno: number, lost: number): void => {
    this.stats.txErrors += lost;
    if (!this.closed) this.rx?.error(new ErrnoError(errno, 'sendmsg'));
  };

  private readonly onSocketError = (err: Error): void => {
    this.stats.errors++;
    if (!this.closed) this.rx?.error(err);
  };

  private constructor(opts: VxlanLinkOptions) {
    const local = canonical(opts.local.address, 'local');
    const remote = canonical(opts.remote.address, 'remote');
    if (local.family !== remote.family) throw inval('local and remote addresses are of different families');
    if (!Number.isInteger(opts.vni) || opts.vni < 0 || opts.vni > VXLAN_VNI_MAX) {
      throw inval(`vni must be an integer in 0..${VXLAN_VNI_MAX}: ${String(opts.vni)}`);
    }
    this.family = local.family;
    const maxPayload = this.family === 4 ? MAX_UDP_PAYLOAD_V4 : MAX_UDP_PAYLOAD_V6;
    const maxMtu = maxPayload - VXLAN_HLEN - ETH_HLEN;
    const mtu = opts.mtu ?? (this.family === 4 ? 1450 : 1430);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > maxMtu) throw inval(`mtu must be an integer in 68..${maxMtu}: ${String(opts.mtu)}`);
    this.mtu = mtu;
    this.maxFrame = Math.min(mtu + ETH_HLEN + VLAN_HLEN, maxPayload - VXLAN_HLEN);
    this.vni = opts.vni;
    this.localAddress = local.address;
    this.boundPort = checkPort(opts.local.port, 'local', true);
    this.remoteAddress = remote.address;
    this.remoteMatch = remote.bare;
    this.remotePort = checkPort(opts.remote.port, 'remote', false);
    this.anySource = opts.anySource ?? false;
    this.localBare = local.bare;
    this.localScope = local.scope;
    this.remoteScope = remote.scope;
    this.lossTx = checkProb(opts.loss?.tx, 'tx');
    this.lossRx = checkProb(opts.loss?.rx, 'rx');
    const rng = new Rng(opts.seed ?? 1);
    this.rngTx = rng.fork('vxlan-tx');
    this.rngRx = rng.fork('vxlan-rx');
    const ringBytes = Math.max(posInt(opts.sendRingBytes, 4 << 20, 'sendRingBytes'), 2 * (VXLAN_HLEN + this.maxFrame) + 1);
    const maxInflight = Math.max(2, posInt(opts.maxInflight, 2048, 'maxInflight'));
    this.sendQueueBytes = posInt(opts.sendQueueBytes, 1 << 20, 'sendQueueBytes');
    const io = opts.io ?? (ffiUnavailable() === null ? 'ffi' : 'dgram');
    if (io !== 'ffi' && io !== 'dgram') throw inval(`io must be 'ffi' or 'dgram': ${String(opts.io)}`);
    this.io = io;
    this.udpGso = opts.udpGso ?? true;
    if (io === 'dgram') {
      this.ring = new SendRing(ringBytes, maxInflight);
      const type = this.family === 4 ? 'udp4' : 'udp6';
      this.rxSock = dgram.createSocket({ type, ipv6Only: this.family === 6 });
      this.txBuf = new Uint8Array(0);
    } else {
      this.txBuf = new Uint8Array(VXLAN_HLEN);
      vxlanWriteHeader(this.txBuf, 0, this.vni);
    }
  }

  /** creates the link and binds (and connects the tx socket); rejects with the socket error */
  static async open(opts: VxlanLinkOptions): Promise<VxlanLink> {
    const link = new VxlanLink(opts);
    try {
      await link.start(opts);
    } catch (e) {
      await link.close();
      throw e;
    }
    return link;
  }

  private async start(opts: VxlanLinkOptions): Promise<void> {
    if (this.rxSock === null) {
      // a receive slot holds the longest datagram we take; longer ones are cut, counted and dropped
      const sock = FfiUdp.open(this.family, this.localBare, this.boundPort, this.localScope, VXLAN_HLEN + this.maxFrame);
      this.ffi = sock;
      this.boundPort = sock.localPort();
      if (!sock.setBuffers(opts.recvBufferSize ?? 4 << 20, opts.sendBufferSize ?? 4 << 20)) this.stats.errors++;
      sock.setPeer(this.remoteMatch, this.remotePort, this.remoteScope);
      this.txBatch = new TxBatch(sock, this.family === 4 ? MAX_UDP_PAYLOAD_V4 : MAX_UDP_PAYLOAD_V6, this.udpGso, this.stats, this.onTxError);
      sock.start(this.onReadable, this.onWritable);
      return;
    }
    await bindSocket(this.rxSock, this.boundPort, this.localAddress);
    this.boundPort = this.rxSock.address().port;
    this.rxSock.on('error', this.onSocketError);
    this.rxSock.on('message', this.onMessage);
    this.setBuffers(this.rxSock, opts);
    if (opts.connectTx ?? true) {
      const tx = dgram.createSocket({ type: this.family === 4 ? 'udp4' : 'udp6', ipv6Only: this.family === 6 });
      this.txSock = tx;
      await bindSocket(tx, 0, this.localAddress);
      await connectSocket(tx, this.remotePort, this.remoteAddress);
      tx.on('error', this.onSocketError);
      // a connected socket reports ICMP errors (port unreachable) on later sends; datagrams that
      // arrive on it are not ours to take (the kernel VTEP sends to `local`)
      this.setBuffers(tx, opts);
    }
  }

  private setBuffers(sock: dgram.Socket, opts: VxlanLinkOptions): void {
    // the kernel clamps to net.core.[rw]mem_max; Node throws only on a failed setsockopt
    try {
      sock.setRecvBufferSize(opts.recvBufferSize ?? 4 << 20);
      sock.setSendBufferSize(opts.sendBufferSize ?? 4 << 20);
    } catch (e) {
      this.stats.errors++;
      void e;
    }
  }

  get localPort(): number {
    return this.boundPort;
  }

  attach(rx: LinkReceiver): void {
    if (this.rx) throw new ErrnoError('EBUSY', 'vxlan', { msg: 'link already attached' });
    this.rx = rx;
    this.batchRx = isBatchReceiver(rx) ? rx : null;
  }

  /** the datagram path ('dgram'), also the entry point of unit tests that feed bytes directly */
  receiveDatagram(msg: Uint8Array, from: string): void {
    this.rxFrame(msg, msg.length, this.anySource || from === this.remoteMatch);
  }

  /** checks `msg[0..len)` (receive slot `slot`, or -1) from a source that is (`fromOk`) the remote; true when delivered */
  private rxFrame(msg: Uint8Array, len: number, fromOk: boolean, slot = -1): boolean {
    const st = this.stats;
    const vni = vxlanCheck(msg, len);
    if (vni < 0) {
      if (vni === VXLAN_BAD_SHORT) st.rxShort++;
      else if (vni === VXLAN_BAD_FLAGS) st.rxBadFlags++;
      else if (vni === VXLAN_BAD_RESERVED) st.rxBadReserved++;
      return false;
    }
    if (vni !== this.vni) {
      st.rxOtherVni++;
      return false;
    }
    if (!fromOk) {
      st.rxForeignSource++;
      return false;
    }
    const rx = this.rx;
    if (rx === null || this.closed) {
      st.rxNoReceiver++;
      return false;
    }
    if (this.lossRx > 0 && this.rngRx.chance(this.lossRx)) {
      st.rxLossDrops++;
      return false;
    }
    const flen = len - VXLAN_HLEN;
    st.rxPackets++;
    st.rxBytes += flen;
    let frame: Uint8Array;
    if (slot >= 0) {
      let v = this.rxSlotViews[slot];
      if (v === undefined || v === null || this.rxSlotViewLens[slot] !== len) {
        v = msg.subarray(VXLAN_HLEN, len);
        this.rxSlotViews[slot] = v;
        this.rxSlotViewLens[slot] = len;
      }
      frame = v;
    } else {
      frame = msg.subarray(VXLAN_HLEN, len);
    }
    const batch = this.batchRx;
    // 'ffi' ends each batch with flush(); 'dgram' leaves the GRO flush to the poll the port schedules
    if (batch !== null) batch.receiveInBatch(frame, null, undefined, this.ffi !== null);
    else rx.receive(frame, null);
    return true;
  }

  send(frame: Uint8Array, _meta?: FrameMeta | null): boolean {
    const st = this.stats;
    const len = frame.length;
    if (this.closed) {
      st.txAfterClose++;
      return true;
    }
    if (len < ETH_HLEN || len > this.maxFrame) {
      st.txBadLength++;
      return true;
    }
    const n = VXLAN_HLEN + len;
    if (this.wantDrain) {
      st.txBusy++;
      return false;
    }
    if (this.ffi !== null) return this.sendFfi(this.ffi, frame);
    const sock = (this.txSock ?? this.rxSock)!;
    const ring = this.ring!;
    let off = -1;
    if (sock.getSendQueueSize() <= this.sendQueueBytes) off = ring.reserve(n);
    if (off < 0) {
      this.wantDrain = true;
      st.txBusy++;
      return false;
    }
    if (this.lossTx > 0 && this.rngTx.chance(this.lossTx)) {
      // the draw happens for every frame that would leave, so the seed fixes which ones are lost
      ring.release();
      st.txLossDrops++;
      return true;
    }
    const buf = ring.buf;
    vxlanWriteHeader(buf, off, this.vni);
    buf.set(frame, off + VXLAN_HLEN);
    st.txPackets++;
    st.txBytes += len;
    if (this.txSock) this.txSock.send(buf, off, n, this.onSent);
    else sock.send(buf, off, n, this.remotePort, this.remoteAddress, this.onSent);
    return true;
  }

  /** 'ffi': header + frame into the burst; it leaves at the burst's end (or at once without GSO) */
  private sendFfi(sock: FfiUdp, frame: Uint8Array): boolean {
    const st = this.stats;
    if (this.lossTx > 0) {
      // one draw per frame that leaves: a frame refused (busy) after its draw keeps that draw for
      // when the port offers it again (first, in order), so backpressure never shifts the stream
      if (this.txDrawHeld) this.txDrawHeld = false;
      else if (this.rngTx.chance(this.lossTx)) {
        st.txLossDrops++;
        return true;
      }
    }
    if (!this.txBatch!.push(this.txBuf, frame)) {
      if (this.lossTx > 0) this.txDrawHeld = true;
      this.wantDrain = true;
      st.txBusy++;
      sock.wantWrite();
      return false;
    }
    st.txPackets++;
    st.txBytes += frame.length;
    if (this.txBatch!.pending > 0 && !this.inIo && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
    return true;
  }

  private belowLowWater(): boolean {
    const sock = (this.txSock ?? this.rxSock)!;
    const ring = this.ring!;
    let q = 0;
    try {
      q = sock.getSendQueueSize();
    } catch {
      q = 0;
    }
    return q <= this.sendQueueBytes / 2 && ring.usedBytes <= ring.buf.length / 2;
  }

  /** datagrams handed to dgram whose send callback has not run yet (0 with 'ffi': sends are synchronous) */
  get inflight(): number {
    return this.ring?.inflight ?? 0;
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.ffi !== null || this.rxSock === null) {
      // what the last burst holds still leaves if the socket takes it; what a full socket
      // refuses is dropped and counted, as a device going down drops its queue
      const tb = this.txBatch;
      if (tb !== null && tb.flush() !== 0) this.stats.txErrors += tb.discard();
      this.ffi?.close();
      this.closing = Promise.resolve().then(() => {
        this.rx = null;
        this.batchRx = null;
      });
      return this.closing;
    }
    this.rxSock.removeListener('message', this.onMessage);
    const socks = [closeSocket(this.rxSock)];
    if (this.txSock) socks.push(closeSocket(this.txSock));
    this.closing = Promise.all(socks).then(() => {
      this.rx = null;
      this.batchRx = null;
    });
    return this.closing;
  }
}
