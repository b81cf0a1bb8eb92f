/**
 * Which build of the library a bench row drives. The benchmark measures the current build and,
 * with `--compare DIR` / `--lib DIR`, another build (an older checkout) with the same method in
 * the same process, so it sees each build only through the narrow structural view below: the
 * public calls every build since the devmem socket API landed shares (`Network`, `addHost`,
 * `addDevice`, `connect`, `ip.addAddress`, `ethtool`, `allocDeviceMemory`,
 * `netlink().netdev.bindRx`, the socket calls, `NcdevmemPattern`, `constants`).
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface LibPattern {
  generate(buf: Uint8Array, off: number, len: number): void;
  check(buf: Uint8Array, off: number, len: number): number;
}

export interface LibDeviceMemory {
  readonly fd: number;
  validate(offset: number, len: number, pattern: LibPattern): number;
  /** hostVisibleBytes: every device-to-host transfer the stack made (absent in older builds) */
  readonly stats: { hostBytesRead: number; hostVisibleBytes?: number };
}

/** the part of a RecvmsgResult every build returns */
export interface LibRecvmsgResult {
  length: number;
  bytes: Uint8Array;
  control: Uint8Array;
}

export interface LibSocket {
  setsockopt(level: number, name: number, value: number | Uint8Array): number | void;
  bind(address: string, port: number): void;
  listen(backlog?: number): void;
  accept(): Promise<LibSocket>;
  connect(address: string, port: number): Promise<void>;
  send(data: Uint8Array, flags?: number): Promise<number>;
  recvmsg(opts: { iov: Uint8Array; control?: Uint8Array; flags?: number }): Promise<LibRecvmsgResult>;
  /** allocation-free form, with the result described by lastControlLen / lastIovUsed (older builds) */
  recvmsgInto?(iov: Uint8Array, control: Uint8Array | null, flags?: number): Promise<number>;
  readonly lastControlLen?: number;
  readonly lastIovUsed?: number;
  close(): void;
}

export interface LibDevice {
  readonly ifindex: number;
}

export interface LibNetlink {
  netdev: { bindRx(req: { ifindex: number; fd: number; queues: { id: number; type: 'rx' }[] }): Promise<{ id: number }> };
  close(): void;
}

export interface LibHost {
  addDevice(name: string, opts: { rxQueues: number; mtu: number }): LibDevice;
  /** opts.nodad (`ip -6 addr add … nodad`) exists in builds with IPv6 only */
  ip: { addAddress(dev: string, cidr: string, opts?: { nodad?: boolean }): void };
  ethtool: {
    setRings(dev: string, cfg: { tcpDataSplit: 'on'; hdsThresh: number }): void;
    setRss(dev: string, cfg: { equal: number }): void;
    addNtupleRule(dev: string, rule: { flowType: string; dstIp: string; dstPort: number; action: number }): unknown;
  };
  allocDeviceMemory(size: number): LibDeviceMemory;
  netlink(): LibNetlink;
  socket(family: number, type: number): LibSocket;
  /** the counters (`/proc/net/snmp`-like) in current builds */
  snmp?(): { tcp: { retransSegs: number } };
  /** the TCP protocol object in older builds, whose `stats` held the counters */
  readonly tcp?: { stats?: { retransSegs?: number } };
}

export interface LibWireDirStats {
  frames: number;
  /** frames lost on purpose (every build with `loss`) */
  lost?: number;
}

export interface LibNetwork {
  addHost(name: string): LibHost;
  connect(a: LibDevice, b: LibDevice, opts: { gbps: number; delayUs: number; loss: number }): { stats: { aToB: LibWireDirStats; bToA?: LibWireDirStats } };
  readonly now: number;
  /** resolves after `us` of network time (the stall watchdog's clock; absent: no watchdog) */
  sleep?(us: number): Promise<void>;
  close(): void;
}

export interface LibConstants {
  AF_INET: number;
  AF_INET6: number;
  SOCK_STREAM: number;
  SOL_SOCKET: number;
  SO_REUSEADDR: number;
  MSG_SOCK_DEVMEM: number;
  SCM_DEVMEM_LINEAR: number;
  SCM_DEVMEM_DMABUF: number;
  SO_DEVMEM_DONTNEED: number;
  MAX_DONTNEED_TOKENS: number;
  MAX_DONTNEED_FRAGS: number;
}

export interface BenchLib {
  /** 'current' or 'base' (row name prefix) */
  label: string;
  /** the module file that was loaded */
  file: string;
  Network: new (opts: { seed: number }) => LibNetwork;
  NcdevmemPattern: new (period: number) => LibPattern;
  constants: LibConstants;
  /** Socket.prototype.recvmsgInto exists (the allocation-free receive of the older builds) */
  hasRecvmsgInto: boolean;
}

const REQUIRED_CONSTANTS: readonly (keyof LibConstants)[] = [
  'AF_INET', 'SOCK_STREAM', 'SOL_SOCKET', 'SO_REUSEADDR', 'MSG_SOCK_DEVMEM', 'SCM_DEVMEM_LINEAR',
  'SCM_DEVMEM_DMABUF', 'SO_DEVMEM_DONTNEED', 'MAX_DONTNEED_TOKENS', 'MAX_DONTNEED_FRAGS',
];

/**
 * The module file for `--lib` / `--compare`: a file is taken as is; a directory may be a checkout
 * (DIR/dist/src/index.js), a build output (DIR/src/index.js) or the module folder (DIR/index.js).
 */
export function resolveLibFile(spec: string): string {
  const p = isAbsolute(spec) ? spec : resolve(spec);
  if (existsSync(p) && statSync(p).isFile()) return p;
  for (const rel of ['dist/src/index.js', 'src/index.js', 'index.js']) {
    const f = join(p, rel);
    if (existsSync(f)) return f;
  }
  throw new Error(`no built library under '${spec}' (looked for dist/src/index.js, src/index.js, index.js; run 'npx tsc -p .' there)`);
}

/** imports a build and checks that it has everything the bench calls */
export async function loadLib(label: string, file: string): Promise<BenchLib> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof mod.Network !== 'function') missing.push('Network');
  if (typeof mod.NcdevmemPattern !== 'function') missing.push('NcdevmemPattern');
  const c = mod.constants as Record<string, unknown> | undefined;
  if (c === undefined) missing.push('constants');
  else for (const k of REQUIRED_CONSTANTS) if (typeof c[k] !== 'number') missing.push(`constants.${k}`);
  if (missing.length > 0) throw new Error(`${file}: the bench needs ${missing.join(', ')}`);
  return {
    label, file,
    Network: mod.Network as BenchLib['Network'],
    NcdevmemPattern: mod.NcdevmemPattern as BenchLib['NcdevmemPattern'],
    constants: c as unknown as LibConstants,
    hasRecvmsgInto: typeof (mod.Socket as { prototype?: Record<string, unknown> } | undefined)?.prototype?.recvmsgInto === 'function',
  };
}

/** the default build: the library this command belongs to */
export function currentLibFile(): string {
  return resolveLibFile(new URL('../../index.js', import.meta.url).pathname);
}
