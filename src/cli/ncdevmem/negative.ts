/**
 * ncdevmem's built-in negative tests (`run_devmem_tests`, run when neither -s nor -c is given),
 * in the tool's order: RSS away from the queues and header split on; a bind whose queue
 * entries carry neither id nor type must fail; with header split back at its default a real
 * bind must fail; with it on the bind must succeed; shrinking the rx channels to `numQueues`,
 * which would remove bound queues, must fail. Closing the netlink socket unbinds; RSS and the
 * ring config are put back. Returns 0 when every step behaved, else 1 (after one "ncdevmem: …"
 * line naming the step).
 */
import { errnoName, type DeviceMemory, type Host } from '../../index.js';
import { bindRxEmptyQueues, type RawBindResult } from './bind-rx-raw.js';
import type { NcdevmemEnv } from './env.js';
import { strerror, ynlError, type Log } from './log.js';
import { checkChangingChannels, configureHeadersplit, configureRss, getRingConfig, resetRss, restoreRingConfig } from './nic.js';
import { bindRxQueue, NUM_PAGES, PAGE_SIZE } from './server.js';

export async function runDevmemTests(env: NcdevmemEnv, startQueue: number, numQueues: number, log: Log): Promise<number> {
  const { host, ifname } = env;
  const dev = host.device(ifname);
  if (dev === null) {
    log.prErr(`no such device: ${ifname}`);
    return 1;
  }
  const mem = host.allocDeviceMemory(PAGE_SIZE * NUM_PAGES);
  const undo: (() => void)[] = [() => host.closeDeviceMemory(mem)];
  try {
    return await steps(log, host, ifname, dev.ifindex, mem, startQueue, numQueues, undo);
  } finally {
    // what was set up is undone in reverse, whatever happened
    while (undo.length > 0) undo.pop()!();
  }
}

async function steps(log: Log, host: Host, ifname: string, ifindex: number, mem: DeviceMemory, startQueue: number, numQueues: number, undo: (() => void)[]): Promise<number> {
  const fail = (msg: string): number => {
    log.prErr(msg);
    return 1;
  };

  const ring = getRingConfig(host, ifname);
  if (ring === null) return fail('Failed to get current ring configuration');
  undo.push(() => resetRss(log, host, ifname));
  if (configureRss(log, host, ifname, startQueue) !== 0) return fail('rss error');
  undo.push(() => restoreRingConfig(log, host, ifname, ring));
  if (configureHeadersplit(log, host, ifname, true) !== 0) return fail('Failed to configure header split');

  // 1. queue entries without id or type
  if (await emptyQueuesBindSucceeds(log, host, ifindex, mem.fd, numQueues, undo)) {
    return fail('Binding empty queues array should have failed');
  }
  // 2. header split back at its default: the bind must be refused
  if (configureHeadersplit(log, host, ifname, false) !== 0) return fail('Failed to configure header split');
  const offBind = await bindRxQueue(log, host, ifindex, mem, startQueue, numQueues);
  if (offBind !== null) {
    undo.push(() => offBind.nl.close());
    return fail('Configure dmabuf with header split off should have failed');
  }
  // 3. header split on: the bind must work
  if (configureHeadersplit(log, host, ifname, true) !== 0) return fail('Failed to configure header split');
  const bound = await bindRxQueue(log, host, ifindex, mem, startQueue, numQueues);
  if (bound === null) return fail('Failed to bind');
  undo.push(() => bound.nl.close());
  // 4. deactivating a bound queue must not be allowed
  if (checkChangingChannels(log, host, ifname, numQueues, numQueues) === 0) {
    return fail('Deactivating a bound queue should be illegal');
  }
  // closing the netlink socket unbinds; then RSS and the rings go back
  while (undo.length > 0) undo.pop()!();
  log.prErr('ok');
  return 0;
}

/** the raw bind with empty `queues` nests; prints what ynl prints when it fails */
async function emptyQueuesBindSucceeds(log: Log, host: Host, ifindex: number, fd: number, n: number, undo: (() => void)[]): Promise<boolean> {
  const nl = host.netlink();
  const r = await bindRxEmptyQueues(nl, ifindex, fd, n);
  if (r.errno === 0) {
    log.err(`got dmabuf id=${r.id ?? 0}`);
    undo.push(() => nl.close());
    return true;
  }
  const code = errnoName(r.errno);
  log.err(`netdev_bind_rx: ${strerror(code)}`);
  log.err(`YNL failed: ${ynlMessage(code, r)}`);
  nl.close();
  return false;
}

/** ynl's wording for a failed request, from the raw answer */
function ynlMessage(code: string, r: RawBindResult): string {
  if (r.missingAttr !== undefined) {
    // inside a `queues` nest the attribute ids name queue attributes
    const name = r.missingNest !== undefined ? (QUEUE_ATTRS[r.missingAttr] ?? `${r.missingAttr}`) : `${r.missingAttr}`;
    return `Kernel error: missing attribute: ${r.missingNest !== undefined ? '.queues' : ''}.${name}`;
  }
  return ynlError(code, r.msg);
}

const QUEUE_ATTRS: Record<number, string> = { 1: 'id', 2: 'ifindex', 3: 'type' };
