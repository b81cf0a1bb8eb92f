/**
 * The socket error queue's uAPI (Linux include/uapi/linux/errqueue.h, net_tstamp.h, socket.h):
 * `struct sock_extended_err` and its origins/codes, `SO_TIMESTAMPING` flags, the `SCM_TSTAMP_*`
 * kinds, and the cmsg levels/types an error-queue read reports with.
 */

/** `struct sock_extended_err`: u32 ee_errno, u8 ee_origin, u8 ee_type, u8 ee_code, u8 ee_pad, u32 ee_info, u32 ee_data */
export const SOCK_EXTENDED_ERR_LEN = 16;
export const SO_EE_ORIGIN_NONE = 0;
export const SO_EE_ORIGIN_LOCAL = 1;
export const SO_EE_ORIGIN_ICMP = 2;
export const SO_EE_ORIGIN_ICMP6 = 3;
export const SO_EE_ORIGIN_TIMESTAMPING = 4;
export const SO_EE_ORIGIN_ZEROCOPY = 5;
/** ee_code of a zerocopy notification: some skb of the range was copied instead (SO_EE_CODE_ZEROCOPY_COPIED) */
export const SO_EE_CODE_ZEROCOPY_COPIED = 1;

/** `IP_RECVERR` (SOL_IP) / `IPV6_RECVERR` (SOL_IPV6): the cmsg carrying sock_extended_err + offender */
export const IP_RECVERR = 11;
export const IPV6_RECVERR = 25;

/** SO_TIMESTAMPING (the old 32-bit-time_t value, as glibc on x86-64 uses) and its cmsg */
export const SO_TIMESTAMPING = 37;
export const SCM_TIMESTAMPING = SO_TIMESTAMPING;
/** `struct scm_timestamping { struct timespec ts[3]; }` on 64-bit: 3 × (i64 sec, i64 nsec) */
export const SCM_TIMESTAMPING_LEN = 48;

/** `SOF_TIMESTAMPING_*` (net_tstamp.h) */
export const SOF_TIMESTAMPING_TX_HARDWARE = 1 << 0;
export const SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1;
export const SOF_TIMESTAMPING_RX_HARDWARE = 1 << 2;
export const SOF_TIMESTAMPING_RX_SOFTWARE = 1 << 3;
export const SOF_TIMESTAMPING_SOFTWARE = 1 << 4;
export const SOF_TIMESTAMPING_SYS_HARDWARE = 1 << 5;
export const SOF_TIMESTAMPING_RAW_HARDWARE = 1 << 6;
export const SOF_TIMESTAMPING_OPT_ID = 1 << 7;
export const SOF_TIMESTAMPING_TX_SCHED = 1 << 8;
export const SOF_TIMESTAMPING_TX_ACK = 1 << 9;
export const SOF_TIMESTAMPING_OPT_CMSG = 1 << 10;
export const SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11;
export const SOF_TIMESTAMPING_OPT_STATS = 1 << 12;
export const SOF_TIMESTAMPING_OPT_PKTINFO = 1 << 13;
export const SOF_TIMESTAMPING_OPT_TX_SWHW = 1 << 14;
export const SOF_TIMESTAMPING_BIND_PHC = 1 << 15;
export const SOF_TIMESTAMPING_OPT_ID_TCP = 1 << 16;
export const SOF_TIMESTAMPING_OPT_RX_FILTER = 1 << 17;
/** every flag Linux 6.12 accepts (SOF_TIMESTAMPING_MASK) */
export const SOF_TIMESTAMPING_MASK = (SOF_TIMESTAMPING_OPT_RX_FILTER << 1) - 1;
/** the flags that make transmit timestamps (SOF_TIMESTAMPING_TX_RECORD_MASK) */
export const SOF_TIMESTAMPING_TX_RECORD_MASK =
  SOF_TIMESTAMPING_TX_HARDWARE | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_ACK;

/** ee_info of a timestamp notification: which point of the path it was taken at */
export const SCM_TSTAMP_SND = 0;
export const SCM_TSTAMP_SCHED = 1;
export const SCM_TSTAMP_ACK = 2;
