/**
 * `devmem demo`'s option table: the parser and `devmem demo --help` are both generated from it.
 * Wire faults map one to one onto SimWireOptions (loss, duplicate, reorder, corrupt, delayUs,
 * gbps). The one cross-option rule (IPv6 needs an MTU of at least 1280) is checked by the command.
 */
import type { CommandSpec } from '../options/table.js';

export const DEMO_COMMAND: CommandSpec = {
  name: 'demo',
  summary: `Host A sends the ncdevmem pattern to host B over a simulated wire; B's flow is steered to an rx
queue bound to device memory, received with MSG_SOCK_DEVMEM, validated on the device, and its
tokens are returned. Exit 0: every byte arrived and validated; 1: the run failed (a one-line
diagnosis on stderr; a transfer that stops moving fails after --stall-timeout); 2: bad options.`,
  options: [
    { name: 'size', kind: 'size', arg: 'N', min: 1, max: 2 ** 40, default: '256M', help: 'bytes to send, K/M/G suffixes' },
    { name: 'mode', kind: 'choice', arg: 'M', choices: ['devmem', 'copy'], default: 'devmem', help: 'receive into device memory or copy to the host' },
    { name: 'ipv6', kind: 'flag', help: 'run over IPv6 (fd00::1 → fd00::2, AF_INET6 sockets, a tcp6 rule)' },
    { name: 'mtu', kind: 'int', arg: 'N', min: 68, max: 65535, default: '1500', help: 'link MTU', rangeNote: '1280..65535 with --ipv6' },
    { name: 'loss', kind: 'number', arg: 'P', min: 0, max: 1, default: '0', help: 'probability a frame is lost' },
    { name: 'duplicate', kind: 'number', arg: 'P', min: 0, max: 1, default: '0', help: 'probability a frame is delivered twice' },
    { name: 'reorder', kind: 'number', arg: 'P', min: 0, max: 1, default: '0', help: 'probability a frame is held back 50 µs' },
    { name: 'corrupt', kind: 'number', arg: 'P', min: 0, max: 1, default: '0', help: 'probability a frame arrives with a bad FCS' },
    { name: 'delay', kind: 'number', arg: 'US', aliases: ['delay-us'], min: 0, max: 10_000_000, default: '5', help: 'one-way propagation delay in µs' },
    { name: 'rate', kind: 'number', arg: 'GBPS', aliases: ['gbps'], min: 0.001, max: 10_000, default: '100', help: 'link rate in Gbit/s' },
    { name: 'seed', kind: 'int', arg: 'N', min: 0, max: 0xffffffff, default: '1', help: 'seed for every random choice' },
    { name: 'queues', kind: 'int', arg: 'N', min: 2, max: 64, default: '4', help: 'rx queues per NIC; the last is bound to device memory' },
    { name: 'dmabuf-size', kind: 'size', arg: 'N', min: 4096, max: 4 * 1024 ** 3, multipleOf: 4096, default: '64M', help: 'device memory bound to the queue, a multiple of 4K' },
    { name: 'period', kind: 'int', arg: 'N', min: 2, max: 256, default: '7', help: 'ncdevmem pattern period, like ncdevmem -v N' },
    { name: 'stall-timeout', kind: 'number', arg: 'S', min: 0.01, max: 3600, default: '30', help: 'fail when no byte was delivered for S virtual seconds' },
    { name: 'pcap', kind: 'string', arg: 'FILE', help: 'write a capture (devmem payload frames headers-only, as tcpdump shows them)' },
    { name: 'report', kind: 'string', arg: 'FILE', help: 'write a self-contained HTML report of the run (charts over virtual time)' },
    { name: 'json', kind: 'flag', help: 'print one JSON object instead of the summary' },
    { name: 'quiet', kind: 'flag', help: 'no progress line' },
    { name: 'help', short: 'h', kind: 'flag', help: 'this help' },
  ],
};
