/**
 * What ncdevmem runs on: the host and interface it configures, and the peer on the other end.
 * Two implementations: `SimEnv` (sim.ts: a simulated peer host in the same process over a
 * SimWire, sending what the kernel's `socat` sends in devmem.py check_rx), and a real link
 * (`--link`, see `createLinkEnv` in index.ts). The env owns its `Network`; `close()` tears it
 * all down.
 */
import type { Host } from '../../index.js';

export interface NcdevmemEnv {
  readonly host: Host;
  readonly ifname: string;
  /**
   * Called once the queues are known, before ncdevmem touches the NIC (the simulation injects
   * its faults here: another tenant's rule or binding).
   */
  prepare(startQueue: number, numQueues: number): Promise<void>;
  /**
   * Server role: called once ncdevmem listens; the simulated peer starts connecting (a real peer
   * is already on its way). Client role: called before ncdevmem connects; the simulated peer
   * starts listening (a real one, `socat -U - TCP-LISTEN:PORT`, already does).
   */
  peerStart(): void;
  /**
   * Settles with a message if the peer gives up before it connected (a simulated peer that
   * failed); never settles for a real link, where ncdevmem waits as the tool does.
   */
  peerGaveUp(): Promise<string>;
  /** the peer's failure, once known (checked after the run: a short stream is not a success) */
  readonly peerError: string | null;
  /** waits for the peer to finish (its errors are reported, not thrown), then closes the network */
  close(): Promise<void>;
}

/** the addresses and queues the env needs to place the peer and any injected fault */
export interface EnvPlan {
  ifname: string;
  /** server address (family 4: IPv4 text) or null in negative-test mode */
  server: { family: 4 | 6; addr: string } | null;
  client: string | null;
  port: number;
  /** pattern period the simulated peer sends (-v, else 7 like `yes $(printf '\x01…\x06')`) */
  period: number;
  /**
   * which side ncdevmem plays: the server (-l, the peer sends), the client (devmem TX, the peer
   * listens and prints what it receives) or the negative tests (no peer); default: server
   */
  role?: 'server' | 'client' | 'negative';
}
