/**
 * Test helper: `devmem ncdevmem` as a child process on a real VXLAN link (UDP on loopback) with a
 * peer stack of ours at 10.9.0.1 on the other end. The child is the server at 10.9.0.2; the
 * handle resolves once it prints its "Waiting or connection" line. The caller owns the handle and
 * must `close()` it (kills the child, closes the peer network) in a finally.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Network, VxlanLink, type Host } from '../../src/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** a UDP port that was free a moment ago */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface LinkServer {
  /** the peer host (10.9.0.1/24 on eth0, the other end of the link) */
  peer: Host;
  /** the child's stderr / stdout so far */
  readonly err: string;
  readonly out: string;
  /** the child's exit code */
  exited: Promise<number | null>;
  close(): Promise<void>;
}

/**
 * Spawns `devmem ncdevmem <args> --link vxlan:… --addr 10.9.0.2/24 --seed <childSeed>` and a peer
 * (real-time Network seeded `peerSeed`) on the same VNI; waits until the server listens on
 * 10.9.0.2:5201. On failure everything started is torn down and the error rethrown.
 */
export async function ncdevmemOverVxlan(args: string[], vni: number, childSeed: number, peerSeed: number): Promise<LinkServer> {
  const [p1, p2] = [await freeUdpPort(), await freeUdpPort()];
  const child = spawn(process.execPath, [MAIN, 'ncdevmem', ...args,
    '--link', `vxlan:local=127.0.0.1:${p1},remote=127.0.0.1:${p2},vni=${vni}`, '--addr', '10.9.0.2/24', '--seed', String(childSeed)],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      err += t;
      if (err.includes('Waiting or connection on ::ffff:10.9.0.2:5201')) resolve();
    });
    child.on('exit', () => reject(new Error(`ncdevmem exited early:\n${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const net = new Network({ mode: 'real', seed: peerSeed });
  const close = async (): Promise<void> => {
    child.kill();
    await net.close();
  };
  try {
    const link = await VxlanLink.open({ local: { address: '127.0.0.1', port: p2 }, remote: { address: '127.0.0.1', port: p1 }, vni });
    const peer = net.addHost('peer');
    peer.addDevice('eth0', { link });
    peer.ip.addAddress('eth0', '10.9.0.1/24', { nodad: true });
    await listening;
    return { peer, get err() { return err; }, get out() { return out; }, exited, close };
  } catch (e) {
    await close();
    throw e;
  }
}
