import type { Socket } from 'node:net';
import { CONNECTION, type WithConnection } from '../http/downstream.js';
import type { HttpServers } from './http-servers.js';
import { peekFirstBytes } from './peek.js';

/**
 * The outbound side (15001): the application's own requests, in plaintext. Without traffic
 * capture the application sends them here as to an HTTP proxy, and the `Host` (or absolute-form
 * request target) names the service and port; the route configuration of that port applies.
 */
export function acceptOutbound(socket: Socket, http: HttpServers): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  (socket as WithConnection)[CONNECTION] = {
    remoteAddress: socket.remoteAddress ?? '',
    targetPort: undefined,
    peerIdentity: undefined,
    tls: false,
  };
  peekFirstBytes(socket, 0, (first) => http.serveSniffed(socket, first ?? Buffer.alloc(0)));
}

/** A connection accepted on a listener of its own port (gateway ports, outbound TCP services). */
export function acceptOnPort(socket: Socket, port: number): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  (socket as WithConnection)[CONNECTION] = {
    remoteAddress: socket.remoteAddress ?? '',
    targetPort: port,
    peerIdentity: undefined,
    tls: false,
  };
}
