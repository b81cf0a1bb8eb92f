// Enforces the layer table of DESIGN.md: each folder under src/ may import only the folders
// listed for it (plus uapi, which every layer may use). Exits non-zero on a violation.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve('src');
const ALLOWED = {
  uapi: [],
  wire: [],
  time: [],
  rand: [],
  inet: ['wire'],
  mem: ['wire', 'time', 'inet'],
  skb: ['mem', 'wire', 'inet'],
  netdev: ['skb', 'mem', 'wire', 'time', 'rand', 'inet'],
  link: ['wire', 'netdev', 'skb', 'mem', 'time', 'rand', 'inet'],
  netif: ['netdev', 'skb', 'mem', 'wire', 'time', 'rand', 'inet'],
  net: ['netif', 'skb', 'netdev', 'wire', 'mem', 'time', 'rand', 'inet'],
  tcp: ['net', 'skb', 'mem', 'wire', 'time', 'rand', 'inet'],
  udp: ['net', 'skb', 'mem', 'wire', 'time', 'rand', 'inet'],
  socket: ['tcp', 'udp', 'net', 'skb', 'mem', 'wire', 'time', 'rand', 'inet'],
  netlink: ['netdev', 'mem', 'wire', 'time', 'skb', 'inet'],
  conformance: ['(root)', 'socket', 'tcp', 'udp', 'net', 'netif', 'netdev', 'link', 'netlink', 'skb', 'mem', 'wire', 'time', 'rand', 'inet'],
  '(root)': ['*'],
  cli: ['(root)', 'conformance'],
};

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function layerOf(file) {
  const rel = relative(SRC, file);
  const parts = rel.split('/');
  return parts.length === 1 ? '(root)' : parts[0];
}

let bad = 0;
for (const file of walk(SRC)) {
  const from = layerOf(file);
  const allowed = ALLOWED[from];
  if (!allowed) {
    console.error(`${relative('.', file)}: folder '${from}' is not in the layer table`);
    bad++;
    continue;
  }
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = resolve(dirname(file), m[1]);
    if (!target.startsWith(SRC)) continue;
    const to = layerOf(target.endsWith('.js') ? target.replace(/\.js$/, '.ts') : target);
    if (to === from || to === 'uapi' || allowed.includes('*') || allowed.includes(to)) continue;
    console.error(`${relative('.', file)}: layer '${from}' may not import '${to}' (${m[1]})`);
    bad++;
  }
}
if (bad > 0) {
  console.error(`check-layers: ${bad} violation(s)`);
  process.exit(1);
}
console.log('check-layers: imports follow the layer table');
