/**
 * The real-link environment of `devmem ncdevmem` (`--link`): a real-time `Network` with one
 * host whose NIC (named after -f) is attached to a VXLAN or TAP link, with the `--addr`
 * addresses on it. The peer is whatever is on the other end of the link (the kernel's `socat`
 * in devmem.py check_rx); ncdevmem waits for it as the tool does. The link specs are parsed
 * before anything is opened, so a mistake is a usage error with nothing printed.
 */
import { Network, type Host } from '../../index.js';
import { UsageError } from '../args.js';
import { createLink, parseAddrSpec, parseLinkSpec } from '../link-spec.js';
import type { NcdevmemEnv } from './env.js';

export interface LinkEnvOptions {
  ifname: string;
  links: readonly string[];
  addrs: readonly string[];
  queues: number;
  seed: number | null;
}

export class LinkEnv implements NcdevmemEnv {
  readonly peerError: string | null = null;
  private readonly never = new Promise<string>(() => {});

  private constructor(
    readonly net: Network,
    readonly host: Host,
    readonly ifname: string,
  ) {}

  /** parses the specs (usage errors first), opens the link, builds the host */
  static async open(o: LinkEnvOptions): Promise<LinkEnv> {
    if (o.links.length !== 1) throw new UsageError(`--link: ncdevmem drives one interface (-f ${o.ifname}); give --link once`);
    const spec = parseLinkSpec(o.links[0]!);
    const addrs = o.addrs.map((a) => parseAddrSpec(a));
    const link = await createLink(spec);
    const net = new Network({ mode: 'real', ...(o.seed !== null ? { seed: o.seed } : {}) });
    let attached = false;
    try {
      const host = net.addHost('dut');
      host.addDevice(o.ifname, { link, rxQueues: o.queues });
      attached = true;
      for (const a of addrs) host.ip.addAddress(o.ifname, a.cidr, { nodad: true });
      return new LinkEnv(net, host, o.ifname);
    } catch (e) {
      // the network closes attached links; one that never got attached is closed here
      await net.close();
      if (!attached) await link.close();
      throw e;
    }
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  peerStart(): void {}

  peerGaveUp(): Promise<string> {
    return this.never;
  }

  async close(): Promise<void> {
    await this.net.close();
  }
}
