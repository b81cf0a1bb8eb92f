// src/wire: packet and message formats (Ethernet, ARP, IPv4, ICMP, IPv6 + extension headers,
// ICMPv6 + Neighbor Discovery, UDP, TCP, pcap, netlink).
//
// Two levels, like smoltcp:
// - *View* classes (EthernetView, Ipv4View, TcpView, ...) are allocation-free flyweights that
//   read/write fields in place over a caller-owned buffer (see ByteView in view.ts).
// - *Repr* objects are plain values with parseX(view) / emitX(repr, ...) / a length function.
//
// THE CHECKED/UNCHECKED RULE:
// - Untrusted input must pass the View's check() (=== WIRE_OK) before any getter is used.
//   check() never throws and returns a WIRE_* code from errors.ts; after it returns WIRE_OK no
//   getter reads outside [off, off+len). Getters/setters themselves do no validation. check()
//   does not verify checksums: call verifyChecksum() where the caller needs it.
// - Emit functions write into a buffer the caller sized with the matching length function
//   (ethernetHeaderLen, arpPacketLen, ipv4HeaderLen, icmpEchoLen, udpPacketLen, tcpHeaderLen /
//   tcpPacketLen) and do not validate the Repr.
// - Network fields are big-endian; only pcap (little-endian file) and netlink (host order,
//   fixed to little-endian) write other byte orders.

export * from './errors.js';
export * from './view.js';
export * from './checksum.js';
export * from './seq.js';
export * from './addr.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './ipv6.js';
export * from './icmpv6.js';
export * from './udp.js';
export * from './tcp.js';
export * from './pcap.js';
export * from './netlink.js';
