// Wire-layer error codes returned by every View's check() and by option/attribute parsers.
// Contract: 0 (WIRE_OK) means "structurally valid"; any other value is a reason code. The wire
// layer never throws on malformed packet bytes — it returns one of these codes instead.

/** The bytes are a structurally valid header. */
export const WIRE_OK = 0;
/** The buffer (`len`) is shorter than the header or than a length field claims. */
export const WIRE_TRUNCATED = 1;
/** A version field has the wrong value (e.g. IPv4 version != 4). */
export const WIRE_BAD_VERSION = 2;
/** A length field is impossible (e.g. IHL < 5, TCP data offset < 5, UDP length < 8). */
export const WIRE_BAD_LENGTH = 3;
/** A checksum does not verify. */
export const WIRE_BAD_CHECKSUM = 4;
/** Well-formed but a variant this stack does not handle (e.g. non-Ethernet/IPv4 ARP). */
export const WIRE_UNSUPPORTED = 5;
/** A TLV option is malformed (length byte < 2 or running past the end of the area). */
export const WIRE_BAD_OPTION = 6;

/** Short name of a wire error code, for logs and test messages (cold path). */
export function wireErrorName(code: number): string {
  switch (code) {
    case WIRE_OK: return 'ok';
    case WIRE_TRUNCATED: return 'truncated';
    case WIRE_BAD_VERSION: return 'bad-version';
    case WIRE_BAD_LENGTH: return 'bad-length';
    case WIRE_BAD_CHECKSUM: return 'bad-checksum';
    case WIRE_UNSUPPORTED: return 'unsupported';
    case WIRE_BAD_OPTION: return 'bad-option';
    default: return `wire-error-${code}`;
  }
}
