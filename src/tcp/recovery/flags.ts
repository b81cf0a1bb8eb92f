/**
 * The tcp_ack FLAG_* bits (Linux net/ipv4/tcp_input.c values): what one ACK did, collected by
 * the ACK path (input/ack.ts, input/sack.ts) and read by loss recovery, undo, TLP and
 * congestion control. Plain numbers so that a flag word costs nothing per ACK.
 */

/** the segment carried data */
export const FLAG_DATA = 0x01;
/** the ACK was a window update */
export const FLAG_WIN_UPDATE = 0x02;
/** it acknowledged new data */
export const FLAG_DATA_ACKED = 0x04;
/** some of that data had been retransmitted */
export const FLAG_RETRANS_DATA_ACKED = 0x08;
/** it acknowledged our SYN */
export const FLAG_SYN_ACKED = 0x10;
/** it SACKed new data */
export const FLAG_DATA_SACKED = 0x20;
/** ECN echo */
export const FLAG_ECE = 0x40;
/** loss detection found a retransmission lost */
export const FLAG_LOST_RETRANS = 0x80;
/** never-retransmitted data below high_seq was (S)ACKed */
export const FLAG_ORIG_SACK_ACKED = 0x200;
/** snd_una moved */
export const FLAG_SND_UNA_ADVANCED = 0x400;
/** the SACK blocks carried a DSACK */
export const FLAG_DSACKING_ACK = 0x800;
/** re-arm the TLP / RTO timer after this ACK */
export const FLAG_SET_XMIT_TIMER = 0x1000;
/** snd_una advanced onto a SACKed record: the receiver reneged */
export const FLAG_SACK_RENEGING = 0x2000;
/** a DSACK of exactly the tail loss probe */
export const FLAG_DSACK_TLP = 0x20000;

export const FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED;
export const FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED;
export const FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_ECE;
export const FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED;
