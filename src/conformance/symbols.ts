/**
 * Names the scripts use and their Linux values: C constants for system-call arguments (the
 * project's uAPI constants first, then the Linux values of the rest), the `struct tcp_info`
 * field offsets and the names `%{ }%` snippets may read (tcpi_* fields, TCP_* states,
 * TCP_CA_* states, TCPI_OPT_* bits).
 */
import * as C from '../uapi/constants.js';
import { ERRNO } from '../uapi/index.js';

/** Linux values of names the project's uAPI module does not define */
const EXTRA: Record<string, number> = {
  AF_UNSPEC: 0,
  IPPROTO_TCP: 6,
  O_RDONLY: 0,
  O_WRONLY: 1,
  TCP_MAXSEG: 2,
  TCP_KEEPIDLE: 4,
  TCP_SYNCNT: 7,
  TCP_CONGESTION: 13,
  TCP_USER_TIMEOUT: 18,
  TCP_FASTOPEN: 23,
  TCP_NOTSENT_LOWAT: 25,
  TCP_FASTOPEN_CONNECT: 30,
  TCP_FASTOPEN_KEY: 33,
  TCP_INQ: 36,
  TCP_CM_INQ: 36,
  TCP_TX_DELAY: 37,
  SO_MARK: 36,
  SO_TIMESTAMPING: 37,
  SCM_TIMESTAMPING: 37,
  IP_FREEBIND: 15,
  IP_MTU_DISCOVER: 10,
  IP_PMTUDISC_DONT: 0,
  IP_PMTUDISC_WANT: 1,
  IP_PMTUDISC_DO: 2,
  IP_RECVERR: 11,
  IPV6_RECVERR: 25,
  MSG_FASTOPEN: 0x20000000,
  SCM_TSTAMP_SND: 0,
  SCM_TSTAMP_SCHED: 1,
  SCM_TSTAMP_ACK: 2,
  SOF_TIMESTAMPING_TX_HARDWARE: 1 << 0,
  SOF_TIMESTAMPING_TX_SOFTWARE: 1 << 1,
  SOF_TIMESTAMPING_RX_HARDWARE: 1 << 2,
  SOF_TIMESTAMPING_RX_SOFTWARE: 1 << 3,
  SOF_TIMESTAMPING_SOFTWARE: 1 << 4,
  SOF_TIMESTAMPING_OPT_ID: 1 << 7,
  SOF_TIMESTAMPING_TX_SCHED: 1 << 8,
  SOF_TIMESTAMPING_TX_ACK: 1 << 9,
  SOF_TIMESTAMPING_OPT_TSONLY: 1 << 11,
  SO_EE_ORIGIN_NONE: 0,
  SO_EE_ORIGIN_LOCAL: 1,
  SO_EE_ORIGIN_ICMP: 2,
  SO_EE_ORIGIN_ICMP6: 3,
  SO_EE_ORIGIN_TIMESTAMPING: 4,
  SO_EE_ORIGIN_ZEROCOPY: 5,
  SO_EE_CODE_ZEROCOPY_COPIED: 1,
  SIOCINQ: 0x541b,
  SIOCOUTQ: 0x5411,
  SPLICE_F_MOVE: 1,
  SPLICE_F_NONBLOCK: 2,
  SPLICE_F_MORE: 4,
};

/** the value of a C constant used in a system-call argument, or undefined */
export function cConstant(name: string): number | undefined {
  const v = (C as Record<string, unknown>)[name];
  if (typeof v === 'number') return v;
  if (name in EXTRA) return EXTRA[name];
  const e = (ERRNO as Record<string, number>)[name];
  return e;
}

/** errno number of a symbol such as 'EINPROGRESS', or undefined */
export function errnoNumber(name: string): number | undefined {
  return (ERRNO as Record<string, number>)[name];
}

/** errno symbol of a positive number (for messages) */
export function errnoSymbol(n: number): string {
  for (const [k, v] of Object.entries(ERRNO)) if (v === n) return k;
  return `errno ${n}`;
}

/** Linux `struct tcp_info` (include/uapi/linux/tcp.h): byte offset and width of each field */
export const TCP_INFO_LAYOUT: readonly (readonly [string, number, 1 | 2 | 4 | 8])[] = [
  ['state', 0, 1], ['ca_state', 1, 1], ['retransmits', 2, 1], ['probes', 3, 1], ['backoff', 4, 1], ['options', 5, 1],
  ['rto', 8, 4], ['ato', 12, 4], ['snd_mss', 16, 4], ['rcv_mss', 20, 4], ['unacked', 24, 4], ['sacked', 28, 4],
  ['lost', 32, 4], ['retrans', 36, 4], ['fackets', 40, 4], ['last_data_sent', 44, 4], ['last_ack_sent', 48, 4],
  ['last_data_recv', 52, 4], ['last_ack_recv', 56, 4], ['pmtu', 60, 4], ['rcv_ssthresh', 64, 4], ['rtt', 68, 4],
  ['rttvar', 72, 4], ['snd_ssthresh', 76, 4], ['snd_cwnd', 80, 4], ['advmss', 84, 4], ['reordering', 88, 4],
  ['rcv_rtt', 92, 4], ['rcv_space', 96, 4], ['total_retrans', 100, 4], ['pacing_rate', 104, 8],
  ['max_pacing_rate', 112, 8], ['bytes_acked', 120, 8], ['bytes_received', 128, 8], ['segs_out', 136, 4],
  ['segs_in', 140, 4], ['notsent_bytes', 144, 4], ['min_rtt', 148, 4], ['data_segs_in', 152, 4],
  ['data_segs_out', 156, 4], ['delivery_rate', 160, 8], ['busy_time', 168, 8], ['rwnd_limited', 176, 8],
  ['sndbuf_limited', 184, 8], ['delivered', 192, 4], ['delivered_ce', 196, 4], ['bytes_sent', 200, 8],
  ['bytes_retrans', 208, 8], ['dsack_dups', 216, 4], ['reord_seen', 220, 4], ['rcv_ooopack', 224, 4],
  ['snd_wnd', 228, 4], ['rcv_wnd', 232, 4],
];

/** names every snippet may read (packetdrill's Python preamble) */
export const PY_CONSTANTS: Readonly<Record<string, number>> = {
  TCP_ESTABLISHED: 1, TCP_SYN_SENT: 2, TCP_SYN_RECV: 3, TCP_FIN_WAIT1: 4, TCP_FIN_WAIT2: 5, TCP_TIME_WAIT: 6,
  TCP_CLOSE: 7, TCP_CLOSE_WAIT: 8, TCP_LAST_ACK: 9, TCP_LISTEN: 10, TCP_CLOSING: 11,
  TCP_CA_Open: 0, TCP_CA_Disorder: 1, TCP_CA_CWR: 2, TCP_CA_Recovery: 3, TCP_CA_Loss: 4,
  TCPI_OPT_TIMESTAMPS: 1, TCPI_OPT_SACK: 2, TCPI_OPT_WSCALE: 4, TCPI_OPT_ECN: 8, TCPI_OPT_ECN_SEEN: 16,
  TCPI_OPT_SYN_DATA: 32, TCPI_OPT_USEC_TS: 64, TCPI_OPT_TFO_CHILD: 128,
};

/** TCP state names (as the stack's TCP_INFO object may report them) → Linux numbers */
export const TCP_STATE_NUMBERS: Readonly<Record<string, number>> = {
  ESTABLISHED: 1, SYN_SENT: 2, SYN_RECV: 3, FIN_WAIT1: 4, FIN_WAIT2: 5, TIME_WAIT: 6, CLOSE: 7, CLOSE_WAIT: 8,
  LAST_ACK: 9, LISTEN: 10, CLOSING: 11,
};
