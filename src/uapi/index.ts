/**
 * uAPI: the Linux constants, errno values and the `ErrnoError` type shared by every layer.
 * The bottom of the import graph: imports nothing, and every folder may import it.
 */
export * from './errno.js';
export * from './constants.js';
