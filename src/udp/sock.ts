/**
 * `UdpSock`: one UDP socket's state (Linux `struct udp_sock` reduced): its binding and peer, the
 * socket options UDP reads, the pending error (sk_err), the shutdown mask and the receive queue.
 * The protocol logic lives in `proto.ts`; this file holds data only.
 *
 * Ownership: the receive queue owns its skbs (each already pulled to the UDP payload) until
 * `userRecvmsg` takes one or `userClose` frees them; `rmemAlloc` is the sum of their truesizes.
 */
import { InetAddr, MutAddr, type Addr, type PortUser } from '../inet/index.js';
import { skbFree, type SkBuff } from '../skb/index.js';
import { UDP_RMEM_DEFAULT, UDP_WMEM_DEFAULT } from './constants.js';

/** what the socket layer wants to hear about (called synchronously from the packet path) */
export interface UdpSockOwner {
  /** a datagram was queued, or the receive side was shut down */
  udpReadable(us: UdpSock): void;
  /** a pending error (sk_err) was set: ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, … */
  udpError(us: UdpSock): void;
}

/** where `userRecvmsg` reports the datagram's source, length and msg_flags (reuse one per socket) */
export class UdpRecvInfo {
  /** source address (for an AF_INET6 socket, an IPv4 source is v4-mapped: family 4 here) */
  readonly addr = new MutAddr();
  /** source port */
  port = 0;
  /** msg_flags: MSG_TRUNC when the datagram did not fit */
  flags = 0;
  /** the datagram's full payload length */
  len = 0;
  /** false when the call returned no datagram (an error, -EAGAIN, or 0 at end of stream) */
  datagram = false;
}

/** per-entry words of the queue's side table: source w0..w3, source port, truesize */
const META = 6;

/**
 * FIFO of received datagrams with their source address and charged size beside them (a ring, so
 * the packet path allocates nothing once the ring has grown to the queue's high-water mark).
 */
export class UdpRxQueue {
  private skbs: (SkBuff | null)[] = new Array<SkBuff | null>(16).fill(null);
  private meta = new Uint32Array(16 * META);
  private head = 0;
  /** datagrams queued */
  count = 0;

  push(skb: SkBuff, src: Addr, sport: number, truesize: number): void {
    if (this.count === this.skbs.length) this.grow();
    const i = (this.head + this.count) % this.skbs.length;
    this.skbs[i] = skb;
    const m = i * META;
    const t = this.meta;
    t[m] = src.w0;
    t[m + 1] = src.w1;
    t[m + 2] = src.w2;
    t[m + 3] = src.w3;
    t[m + 4] = sport;
    t[m + 5] = truesize;
    this.count++;
  }

  /** the oldest datagram (still queued), or null */
  peek(): SkBuff | null {
    return this.count === 0 ? null : this.skbs[this.head]!;
  }

  /** copies the oldest datagram's source into `out`; returns its source port */
  peekSource(out: MutAddr): number {
    const m = this.head * META;
    const t = this.meta;
    out.w0 = t[m]!;
    out.w1 = t[m + 1]!;
    out.w2 = t[m + 2]!;
    out.w3 = t[m + 3]!;
    return t[m + 4]!;
  }

  /** the oldest datagram's truesize */
  peekTruesize(): number {
    return this.meta[this.head * META + 5]!;
  }

  /** removes and returns the oldest datagram (the caller owns it) */
  shift(): SkBuff | null {
    if (this.count === 0) return null;
    const skb = this.skbs[this.head]!;
    this.skbs[this.head] = null;
    this.head = (this.head + 1) % this.skbs.length;
    this.count--;
    return skb;
  }

  /** frees every queued datagram */
  purge(): void {
    for (let skb = this.shift(); skb !== null; skb = this.shift()) skbFree(skb);
    this.head = 0;
  }

  private grow(): void {
    const n = this.skbs.length;
    const skbs = new Array<SkBuff | null>(n * 2).fill(null);
    const meta = new Uint32Array(n * 2 * META);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % n;
      skbs[k] = this.skbs[i]!;
      meta.set(this.meta.subarray(i * META, i * META + META), k * META);
    }
    this.skbs = skbs;
    this.meta = meta;
    this.head = 0;
  }
}

/** UDP socket counters (Linux per-socket sk_drops and friends) */
export interface UdpSockStats {
  datagramsIn: number;
  datagramsOut: number;
  /** sk_drops: receive-buffer overflows and datagrams lost at recvmsg (EFAULT) */
  drops: number;
}

export class UdpSock implements PortUser {
  /** AF_INET → 4, AF_INET6 → 6 */
  readonly sockFamily: 4 | 6;
  /** bound (receive) address: the family's wildcard until bound or connected */
  laddr: InetAddr;
  lport = 0;
  /** peer of a connected socket (Linux inet_daddr / sk_v6_daddr, inet_dport) */
  raddr: InetAddr;
  rport = 0;
  /** Linux sk_state == TCP_ESTABLISHED: connect() succeeded and no disconnect since */
  connected = false;
  /** path MTU to the connected peer as last looked up (the sk_dst_cache we keep); 0 = look up */
  dstMtu = 0;
  reuseAddr = false;
  reusePort = false;
  v6only = false;
  /** SO_BROADCAST */
  broadcast = false;
  readonly listening = false;
  /** SO_REUSEPORT group key ("uid") */
  owner = 0;
  /** Linux SOCK_BINDADDR_LOCK / SOCK_BINDPORT_LOCK: the user bound the address / port explicitly */
  bindAddrLock = false;
  bindPortLock = false;
  /** wakeup callbacks of the socket layer */
  sockOwner: UdpSockOwner | null = null;
  /** sk_rcvbuf / sk_sndbuf in bytes (already doubled, as Linux stores them) */
  rcvbuf = UDP_RMEM_DEFAULT;
  sndbuf = UDP_WMEM_DEFAULT;
  /** IP_TOS / IPV6_TCLASS byte */
  tos = 0;
  /** IP_TTL / IPV6_UNICAST_HOPS, -1 for the default */
  ttl = -1;
  /** pending error, positive errno (sk_err); reported once by the next call, then cleared */
  err = 0;
  /** RCV_SHUTDOWN | SEND_SHUTDOWN */
  shutdownMask = 0;
  /** bytes charged to the receive buffer (sk_rmem_alloc) */
  rmemAlloc = 0;
  readonly rxq = new UdpRxQueue();
  readonly stats: UdpSockStats = { datagramsIn: 0, datagramsOut: 0, drops: 0 };
  /** closed: every call fails with EBADF */
  closed = false;

  constructor(family: 4 | 6) {
    this.sockFamily = family;
    this.laddr = family === 4 ? InetAddr.ANY4 : InetAddr.ANY6;
    this.raddr = this.laddr;
  }
}
