/**
 * The simulated environment of `devmem ncdevmem` (no `--link`): a virtual-time `Network` with
 * the host under test ("dut", NIC named after -f) and a peer host over a SimWire. Once the
 * server listens, the peer does what devmem.py check_rx has the remote do with `socat`: connect
 * from the -c address and the -p port when -c is given (so the 5-tuple rule matches), else from
 * an ephemeral port, send `--sim-bytes` of the ncdevmem pattern and close.
 *
 * `--sim-fault` plays another tenant of the same NIC, acting before ncdevmem configures it:
 * `wrong-queue` adds an n-tuple rule at location 0 that steers the flow to queue 0 (readable
 * data: "flow steering error"); `wrong-dmabuf` binds its own dma-buf to another queue and steers
 * the flow there (cmsgs carry a foreign dmabuf_id). ncdevmem deletes only its own rules, so
 * the tenant's rule keeps precedence, as on a shared machine.
 *
 * Client role (ncdevmem without -l, devmem TX): the DUT gets the -c address (or the server's
 * neighbour) and the peer the -s address, where it does what devmem.py check_tx has the remote
 * run, `socat -U - TCP-LISTEN:PORT`: accept one connection and print every byte it receives on
 * stdout until the stream ends (`peerReceived` keeps them for --json and tests).
 */
import { constants as C, InetAddr, NcdevmemPattern, Network, type Host, type NetlinkSocket, type Socket } from '../../index.js';
import type { SimFault } from './args.js';
import type { EnvPlan, NcdevmemEnv } from './env.js';
import type { Log } from './log.js';

export interface SimOptions {
  bytes: number;
  fault: SimFault;
  mtu: number;
  /** rx queues of the DUT's NIC */
  queues: number;
  seed: number;
  /** probability the wire loses a frame, each direction (--sim-loss; default 0) */
  loss?: number;
}

const PEER_CHUNK = 64 * 1024;

export class SimEnv implements NcdevmemEnv {
  readonly host: Host;
  readonly ifname: string;
  readonly net: Network;
  readonly peer: Host;
  /** bytes the peer managed to hand to its socket */
  peerSent = 0;
  /** the peer's failure, if any (a server that gives up resets the connection) */
  peerError: string | null = null;
  private peerDone: Promise<void> | null = null;
  private tenantNl: NetlinkSocket | null = null;
  private readonly clientAddr: string | null;
  /** client role: what the listening peer received, in order */
  readonly peerReceived: Uint8Array[] = [];
  private peerListener: Socket | null = null;
  /** close() closed the listener on purpose (the client never connected, or gave up first) */
  private listenerStopped = false;
  /** the peer's connected socket (server role: the sender; client role: the accepted one), for stall diagnoses */
  peerSocket: Socket | null = null;
  /** the wire's counters (frames, lost, corrupted, each direction) */
  readonly wireStats: ReturnType<Network['connect']>['stats'];

  constructor(
    private readonly plan: EnvPlan,
    private readonly sim: SimOptions,
    private readonly log: Log,
  ) {
    this.ifname = plan.ifname;
    this.net = new Network({ seed: sim.seed });
    this.host = this.net.addHost('dut');
    this.peer = this.net.addHost('peer');
    const ed = this.host.addDevice(plan.ifname, { rxQueues: sim.queues, mtu: sim.mtu });
    const ep = this.peer.addDevice('eth0', { rxQueues: 1, mtu: sim.mtu });
    this.wireStats = this.net.connect(ed, ep, { gbps: 100, delayUs: 5, loss: sim.loss ?? 0 }).stats;
    const s = plan.server;
    if (s === null) {
      this.clientAddr = null;
      return;
    }
    const bits = s.family === 4 ? 24 : 64;
    const hostBits = s.family === 4 ? 32 : 128;
    const serverA = InetAddr.parse(s.addr);
    const client = plan.client !== null ? InetAddr.parse(plan.client).toString() : neighbourOf(serverA).toString();
    this.clientAddr = client;
    const dutAddr = plan.role === 'client' ? client : s.addr;
    const peerAddr = plan.role === 'client' ? s.addr : client;
    this.host.ip.addAddress(plan.ifname, `${dutAddr}/${bits}`, { nodad: true });
    this.peer.ip.addAddress('eth0', `${peerAddr}/${bits}`, { nodad: true });
    // a peer outside the DUT's subnet is still on the wire: on-link host routes both ways
    this.host.ip.addRoute({ dst: `${peerAddr}/${hostBits}`, dev: plan.ifname });
    this.peer.ip.addRoute({ dst: `${dutAddr}/${hostBits}`, dev: 'eth0' });
  }

  async prepare(startQueue: number, numQueues: number): Promise<void> {
    const s = this.plan.server;
    if (s === null || this.sim.fault === 'none') return;
    const flowType = s.family === 4 ? 'tcp4' : 'tcp6';
    const nrx = this.host.ethtool.getChannels(this.ifname).rx;
    if (this.sim.fault === 'wrong-queue') {
      this.host.ethtool.addNtupleRule(this.ifname, { flowType, dstIp: s.addr, dstPort: this.plan.port, action: 0, loc: 0 });
      this.log.err(`sim: another tenant steers ${flowType} dst-port ${this.plan.port} to queue 0 (rule 0)`);
      return;
    }
    // wrong-dmabuf: a queue next to ncdevmem's, bound to the tenant's own dma-buf
    const q = startQueue > 0 ? startQueue - 1 : startQueue + numQueues;
    if (q >= nrx) {
      this.log.err('sim: no queue left for the other tenant; fault not injected');
      return;
    }
    this.host.ethtool.setRings(this.ifname, { tcpDataSplit: 'on', hdsThresh: 0 });
    const mem = this.host.allocDeviceMemory(1 << 20);
    const nl = this.host.netlink();
    this.tenantNl = nl;
    const dev = this.host.device(this.ifname)!;
    const { id } = await nl.netdev.bindRx({ ifindex: dev.ifindex, fd: mem, queues: [{ id: q, type: 'rx' }] });
    this.host.ethtool.addNtupleRule(this.ifname, { flowType, dstIp: s.addr, dstPort: this.plan.port, action: q, loc: 0 });
    this.log.err(`sim: another tenant bound dma-buf id ${id} to queue ${q} and steers ${flowType} dst-port ${this.plan.port} there (rule 0)`);
  }

  private gaveUp: ((msg: string) => void) | null = null;
  private readonly gaveUpP = new Promise<string>((resolve) => {
    this.gaveUp = resolve;
  });

  peerStart(): void {
    const s = this.plan.server;
    if (s === null || this.peerDone !== null) return;
    const run = this.plan.role === 'client' ? this.runListener(s.family, s.addr) : this.runPeer(s.family, s.addr);
    this.peerDone = run.catch((e: unknown) => {
      this.peerError = e instanceof Error ? e.message : String(e);
      this.gaveUp!(this.peerError);
    });
  }

  /** server role: bytes the peer is to send (--sim-bytes) */
  get peerBytes(): number {
    return this.sim.bytes;
  }

  peerGaveUp(): Promise<string> {
    return this.gaveUpP;
  }

  /** like `socat -u - TCP:SERVER:PORT,bind=CLIENT,sourceport=PORT` fed with the pattern */
  private async runPeer(family: 4 | 6, server: string): Promise<void> {
    const sock = this.peer.socket(family === 4 ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM);
    this.peerSocket = sock;
    try {
      if (this.plan.client !== null) {
        sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
        sock.bind(this.clientAddr!, this.plan.port);
      }
      await sock.connect(server, this.plan.port);
      const gen = new NcdevmemPattern(this.plan.period);
      const chunk = new Uint8Array(Math.min(PEER_CHUNK, this.sim.bytes));
      while (this.peerSent < this.sim.bytes) {
        const n = Math.min(chunk.length, this.sim.bytes - this.peerSent);
        gen.generate(chunk, 0, n);
        await sock.send(n === chunk.length ? chunk : chunk.subarray(0, n));
        this.peerSent += n;
      }
    } finally {
      sock.close();
    }
  }

  /**
   * like `socat -U - TCP-LISTEN:PORT`: listens (synchronously, before ncdevmem connects), accepts
   * one connection and prints what arrives until the stream ends
   */
  private runListener(family: 4 | 6, server: string): Promise<void> {
    const ls = this.peer.socket(family === 4 ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM);
    ls.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    ls.bind(server, this.plan.port);
    ls.listen(1);
    this.peerListener = ls;
    return (async () => {
      let conn: Socket;
      try {
        conn = await ls.accept();
        this.peerSocket = conn;
      } catch (e) {
        // close() stopped a listener the client never reached: the client's own failure (its
        // stall diagnosis, a connect error) is the run's one line, not this accept's EBADF
        if (this.listenerStopped) return;
        throw e;
      } finally {
        ls.close();
      }
      try {
        for (;;) {
          const b = await conn.recv(65536);
          if (b.length === 0) break;
          this.peerReceived.push(b);
          this.log.out(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1'));
        }
      } finally {
        conn.close();
      }
    })();
  }

  /** client role: every byte the listening peer received */
  get received(): Uint8Array {
    return Buffer.concat(this.peerReceived);
  }

  async close(): Promise<void> {
    // a client that never connected: the listener stops waiting (its accept fails)
    if (this.peerListener !== null && this.peerReceived.length === 0) {
      this.listenerStopped = true;
      this.peerListener.close();
    }
    if (this.peerDone !== null) await this.peerDone;
    if (this.peerError !== null) this.log.err(`sim: the peer stopped: ${this.peerError}`);
    if (this.tenantNl !== null) this.tenantNl.close();
    await this.net.close();
  }
}

/** the peer's default address: the server's, with the last byte (IPv4) or group (IPv6) changed */
function neighbourOf(a: InetAddr): InetAddr {
  if (a.family === 4) {
    const last = a.v4 & 0xff;
    return InetAddr.v4(((a.v4 & ~0xff) | (last === 1 ? 2 : 1)) >>> 0);
  }
  const last = a.w3 & 0xffff;
  return InetAddr.of(a.w0, a.w1, a.w2, ((a.w3 & ~0xffff) | (last === 1 ? 2 : 1)) >>> 0);
}
