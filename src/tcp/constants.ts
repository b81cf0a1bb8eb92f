/**
 * TCP states and the Linux defaults our TCP follows (see shared linux-tcp-defaults.md):
 * times in microseconds, sizes in bytes.
 */

export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_SYN_RECV = 3;
export const TCP_FIN_WAIT1 = 4;
export const TCP_FIN_WAIT2 = 5;
export const TCP_TIME_WAIT = 6;
export const TCP_CLOSE = 7;
export const TCP_CLOSE_WAIT = 8;
export const TCP_LAST_ACK = 9;
export const TCP_LISTEN = 10;
export const TCP_CLOSING = 11;

export const TCP_STATE_NAMES: readonly string[] = [
  '', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING',
];

export const TCP_TIMEOUT_INIT = 1_000_000;
export const TCP_RTO_MIN = 200_000;
export const TCP_RTO_MAX = 120_000_000;
export const TCP_DELACK_MIN = 40_000;
export const TCP_DELACK_MAX = 200_000;
export const TCP_TIMEWAIT_LEN = 60_000_000;
export const TCP_FIN_TIMEOUT = 60_000_000;
export const TCP_RESOURCE_PROBE_INTERVAL = 500_000;
export const TCP_INIT_CWND = 10;
export const TCP_MAX_QUICKACKS = 16;
export const TCP_SYN_RETRIES = 6;
export const TCP_SYNACK_RETRIES = 5;
export const TCP_RETRIES2 = 15;
/** net.ipv4.tcp_orphan_retries = 0 means 8 (Linux tcp_orphan_retries) */
export const TCP_ORPHAN_RETRIES = 8;
export const TCP_DEFAULT_MSS = 536;
/** tcp_rmem / tcp_wmem maxima used as default buffer sizes (no autotuning yet) */
export const TCP_RMEM_DEFAULT = 6 * 1024 * 1024;
export const TCP_WMEM_DEFAULT = 4 * 1024 * 1024;
export const TCP_MAX_WINDOW = 65535;
/** room for Ethernet + IPv4 + TCP headers with options */
export const MAX_TCP_HEADER = 128;
/** bytes the timestamp option takes in every segment (NOP NOP TS) */
export const TCPOLEN_TSTAMP_ALIGNED = 12;
export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;
