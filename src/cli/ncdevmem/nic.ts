/**
 * The NIC configuration steps of ncdevmem, on a `Host`'s `ethtool`, each printing what the
 * kernel tool prints for it ("Running: ethtool …" for the steps it shells out for, the YNL
 * messages for the ones it does over ethtool netlink). Every step returns 0 or -1 as the tool's
 * helpers do and never throws for a refused configuration: the caller decides what is fatal.
 */
import { ErrnoError, type Host } from '../../index.js';
import { strerror, ynlError, type Log } from './log.js';

export interface RingConfig {
  tcpDataSplit: 'unknown' | 'off' | 'on';
  hdsThresh: number;
}

export interface FlowSpec {
  family: 4 | 6;
  serverAddr: string;
  clientAddr: string | null;
  port: number;
  queue: number;
}

function why(e: unknown): string {
  if (e instanceof ErrnoError) return e.extack?.msg ?? strerror(e.code);
  return e instanceof Error ? e.message : String(e);
}

/** a refused ethtool-netlink request as ynl words it */
function ynlWhy(e: unknown): string {
  return e instanceof ErrnoError ? ynlError(e.code, e.extack?.msg) : why(e);
}

/** "TCP header split: …" as ncdevmem names the three states */
function splitStr(s: RingConfig['tcpDataSplit']): string {
  return s === 'on' ? 'on' : s === 'off' ? 'off' : 'auto';
}

/** ethtool -g (ethtool netlink rings-get) */
export function getRingConfig(host: Host, ifname: string): RingConfig | null {
  try {
    const r = host.ethtool.getRings(ifname);
    return { tcpDataSplit: r.tcpDataSplit, hdsThresh: r.hdsThresh };
  } catch {
    return null;
  }
}

/** rings-set: on = tcp-data-split enabled and hds-thresh 0; off = back to the default (unknown) */
export function configureHeadersplit(log: Log, host: Host, ifname: string, on: boolean): number {
  try {
    host.ethtool.setRings(ifname, on ? { tcpDataSplit: 'on', hdsThresh: 0 } : { tcpDataSplit: 'unknown' });
  } catch (e) {
    log.err(`YNL failed: ${ynlWhy(e)}`);
    return -1;
  }
  const now = getRingConfig(host, ifname);
  if (now !== null) log.err(`TCP header split: ${splitStr(now.tcpDataSplit)}`);
  return 0;
}

/** puts tcp-data-split and hds-thresh back as they were before the run */
export function restoreRingConfig(log: Log, host: Host, ifname: string, saved: RingConfig | null): void {
  if (saved === null) return;
  try {
    host.ethtool.setRings(ifname, { tcpDataSplit: 'unknown', hdsThresh: saved.hdsThresh });
  } catch (e) {
    log.err(`YNL restoring HDS cfg: ${ynlWhy(e)}`);
  }
  const now = getRingConfig(host, ifname);
  if (now !== null && now.tcpDataSplit !== saved.tcpDataSplit) {
    try {
      host.ethtool.setRings(ifname, { tcpDataSplit: saved.tcpDataSplit, hdsThresh: saved.hdsThresh });
    } catch (e) {
      log.err(`YNL restoring expl HDS cfg: ${ynlWhy(e)}`);
    }
  }
}

/** ethtool -X IF equal N: RSS spreads over queues 0..N-1 only */
export function configureRss(log: Log, host: Host, ifname: string, startQueue: number): number {
  log.err(`Running: ethtool -X ${ifname} equal ${startQueue}`);
  try {
    host.ethtool.setRss(ifname, { equal: startQueue });
    return 0;
  } catch (e) {
    log.err(`Cannot set RX flow hash configuration: ${why(e)}`);
    return -1;
  }
}

/** ethtool -X IF default (equal over every rx queue) */
export function resetRss(log: Log, host: Host, ifname: string): void {
  log.err(`Running: ethtool -X ${ifname} default`);
  try {
    host.ethtool.setRss(ifname, { equal: host.ethtool.getChannels(ifname).rx });
  } catch (e) {
    log.err(`Cannot set RX flow hash configuration: ${why(e)}`);
  }
}

/**
 * The n-tuple rule steering the devmem flow to `queue`: a 5-tuple when the client address is
 * known, else (or when the NIC refuses it) a 3-tuple. Returns the rule id, or -1.
 */
export function configureFlowSteering(log: Log, host: Host, ifname: string, f: FlowSpec): number {
  const type = f.family === 4 ? 'tcp4' : 'tcp6';
  const tries: { text: string; rule: Parameters<Host['ethtool']['addNtupleRule']>[1] }[] = [];
  if (f.clientAddr !== null) {
    tries.push({
      text: `flow-type ${type} src-ip ${f.clientAddr} dst-ip ${f.serverAddr} src-port ${f.port} dst-port ${f.port} queue ${f.queue}`,
      rule: { flowType: type, srcIp: f.clientAddr, dstIp: f.serverAddr, srcPort: f.port, dstPort: f.port, action: f.queue },
    });
  }
  tries.push({
    text: `flow-type ${type} dst-ip ${f.serverAddr} dst-port ${f.port} queue ${f.queue}`,
    rule: { flowType: type, dstIp: f.serverAddr, dstPort: f.port, action: f.queue },
  });
  for (const t of tries) {
    log.err(`Running: ethtool -N ${ifname} ${t.text}`);
    try {
      const id = host.ethtool.addNtupleRule(ifname, t.rule);
      log.err(`Added flow rule with ID ${id}`);
      return id;
    } catch (e) {
      log.err(`rmgr: Cannot insert RX class rule: ${why(e)}`);
    }
  }
  return -1;
}

/** ethtool -N IF delete ID */
export function deleteFlow(log: Log, host: Host, ifname: string, id: number): void {
  log.err(`Running: ethtool -N ${ifname} delete ${id}`);
  try {
    host.ethtool.deleteNtupleRule(ifname, id);
  } catch (e) {
    log.err(`rmgr: Cannot delete RX class rule: ${why(e)}`);
  }
}

/** rx + combined channels (ethtool netlink channels-get), -1 when unknown */
export function rxqNum(host: Host, ifname: string): number {
  try {
    return host.ethtool.getChannels(ifname).rx;
  } catch {
    return -1;
  }
}

/**
 * channels-set to `rx` queues, which must fail while bound queues would go away; should it
 * succeed, the old count is put back. Returns 0 when the change went through.
 */
export function checkChangingChannels(log: Log, host: Host, ifname: string, rx: number, tx: number): number {
  log.err(`setting channel count rx:${rx} tx:${tx}`);
  const old = rxqNum(host, ifname);
  try {
    host.ethtool.setChannels(ifname, { rx });
  } catch (e) {
    log.err(`YNL set channels: ${ynlWhy(e)}`);
    return -1;
  }
  try {
    host.ethtool.setChannels(ifname, { rx: old });
  } catch (e) {
    log.err(`YNL un-setting channels: ${ynlWhy(e)}`);
  }
  return 0;
}
