/**
 * Node `net`-style streams over our sockets: the implementation lives in `./net/` (socket,
 * server, handle, argument forms, errors); this module keeps the historical import path.
 */
export * from './net/index.js';
