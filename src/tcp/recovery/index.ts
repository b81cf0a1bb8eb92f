/**
 * Loss recovery pieces with no socket of their own: PRR (RFC 6937) cwnd reduction, RACK
 * (RFC 8985) loss detection over the core's time-sorted sent records, and the tail loss
 * probe's timeout, probe choice and ACK outcome. The core owns state machine and timers.
 */
export * from './prr.js';
export * from './rack.js';
export * from './tlp.js';
export * from './cong-control.js';
