/**
 * Loss recovery pieces with no socket of their own: the tcp_ack FLAG_* bits, PRR (RFC 6937)
 * cwnd reduction, RACK (RFC 8985) loss detection over the core's transmission-ordered sent
 * records (output/rtx-queue.ts), the tail loss probe's timeout, probe choice and ACK outcome,
 * and where an ACK meets the congestion-control module. The core owns the state machine
 * (input/fast-recovery.ts: tcp_fastretrans_alert, undo, F-RTO), the scoreboard (input/sack.ts)
 * and the timers (timer/).
 */
export * from './flags.js';
export * from './prr.js';
export * from './rack.js';
export * from './tlp.js';
export * from './cong-control.js';
