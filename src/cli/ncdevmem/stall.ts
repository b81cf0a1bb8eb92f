/**
 * Stalls of `devmem ncdevmem`, diagnosed as the demo diagnoses its own (`../demo/diagnose.ts`,
 * one line from the stack's counters: device buffers pinned, rx-alloc-fail, tokens held, the
 * sender's retransmissions and backoff, the wire's losses).
 *
 * Server: once a connection is accepted, a `ProgressWatchdog` on the host's network clock
 * watches the bytes received; when they stay the same for the stall timeout (`--stall-timeout`,
 * 30 s of virtual time by default; real time on a link) the receive loop's wait is ended with
 * the diagnosis ("ncdevmem: stalled: …", exit 1) instead of waiting forever, which is what the
 * C tool does. The sending side of the diagnosis is the simulated peer (its host, socket and
 * the wire); on a real link the peer is not ours and only our receiving side is reported.
 *
 * Client (devmem TX): the tool's own deadline (500 ms per completion) ends a send that is not
 * acknowledged; `diagnoseClient` adds the line that says why, with this host as the sender and
 * the simulated listener (if any) as the receiver.
 */
import type { NetlinkSocket, Socket } from '../../index.js';
import { diagnoseStall, type StallSources } from '../demo/diagnose.js';
import type { NcdevmemEnv } from './env.js';
import { SimEnv } from './sim.js';
import { ProgressWatchdog, StallRace } from './watchdog.js';

/** what the server's receive loop exposes to its watchdog */
export interface ServerWatchOptions {
  /** no-progress time before the run fails, µs of network time */
  stallUs: number;
  conn: Socket;
  nl: NetlinkSocket;
  bindingId: number;
  /** the queue the flow is steered to (ncdevmem's -t) */
  queue: number;
  /** device buffers (4 KiB) in the bound dma-buf */
  dmabufPages: number;
  /** bytes received so far (device memory and linear) */
  received: () => number;
}

/**
 * Arms the server's watchdog; its `race` ends a wait with a `StallError` whose message is the
 * diagnosis. The caller stops it when the run ends.
 */
export function watchServer(env: NcdevmemEnv, o: ServerWatchOptions): StallRace {
  const dev = env.host.device(env.ifname)!;
  const sim = env instanceof SimEnv ? env : null;
  const wire = sim !== null ? sim.wireStats : null;
  const frames = wire === null ? () => 0 : () => wire.aToB.frames + wire.bToA.frames;
  const wd = new ProgressWatchdog(env.host.network, o.stallUs, o.received, frames);
  return new StallRace(wd, (seen) => {
    const sources: StallSources = {
      a: sim !== null ? sim.peer : null, b: env.host, nl: o.nl, bindingId: o.bindingId, conn: o.conn,
      cs: sim !== null ? sim.peerSocket : null, rxq: dev.rxQueues[o.queue]!, wire,
    };
    return diagnoseStall({
      size: sim !== null ? sim.peerBytes : 0, bytes: seen.progress, mode: 'devmem', stallUs: seen.stallUs, error: null,
      errorSide: null, quietFrames: wire === null ? 1 : seen.quietActivity, dmabufPages: o.dmabufPages,
    }, sources);
  });
}

/**
 * Client: why a send's completion did not come within `waitUs` (the tool's 500 ms): this host is
 * the sender; the simulated listener, when there is one, the receiver. Never throws.
 */
export async function diagnoseClient(env: NcdevmemEnv, sock: Socket, nl: NetlinkSocket, sentBytes: number, waitUs: number): Promise<string> {
  const sim = env instanceof SimEnv ? env : null;
  const rxHost = sim !== null ? sim.peer : env.host;
  const rxDev = sim !== null ? sim.peer.device('eth0') : env.host.device(env.ifname);
  let acked = 0;
  try {
    // tcpi_bytes_acked counts the SYN (the client diagnoses only once connected): payload is one less
    acked = Math.max(0, sock.tcpInfo().bytesAcked - 1);
  } catch {
    // the socket is gone: nothing acknowledged that we can read
  }
  try {
    return await diagnoseStall({
      size: sentBytes, bytes: acked, mode: 'copy', stallUs: waitUs, error: null, errorSide: null,
      quietFrames: 1, dmabufPages: 0,
    }, {
      a: env.host, b: rxHost, nl, bindingId: 0, conn: sim !== null ? sim.peerSocket : null, cs: sock,
      rxq: rxDev!.rxQueues[0]!, wire: sim !== null ? sim.wireStats : null,
    });
  } catch (e) {
    return `no completion for ${waitUs / 1e6} s: ${acked} of ${sentBytes} bytes acknowledged (${e instanceof Error ? e.message : String(e)})`;
  }
}
