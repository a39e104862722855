import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** Where a redirected connection was going before iptables sent it to the proxy. */
export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
}

/**
 * Where an accepted connection was going when iptables redirected it to the proxy; undefined when
 * it was not redirected (made to the listener's own address, or no conntrack record).
 */
export type OriginalDestinationReader = (socket: Socket) => OriginalDestination | undefined;

interface Addon {
  originalDst(fd: number): OriginalDestination | undefined;
}

/**
 * The addon's place relative to the running module: beside this module's file, unbundled (the
 * source under tsx, or dist/proxy/original-dst/ where the image copies the addon). The proxy's
 * bundle, one file in dist/proxy/, defines it relative to itself (proxy/tools/bundle.ts).
 */
declare const WEFT_BUNDLE_ORIGINAL_DST_ADDON: string | undefined;
const ADDON_URL =
  typeof WEFT_BUNDLE_ORIGINAL_DST_ADDON === 'string'
    ? WEFT_BUNDLE_ORIGINAL_DST_ADDON
    : './build/Release/original_dst.node';

/** Built by `npm run build:native` (node-gyp); never by `npm ci`, so it may be missing. */
export const ADDON_PATH = new URL(ADDON_URL, import.meta.url).pathname;

/**
 * Loads the SO_ORIGINAL_DST addon. Returns the reader, or the reason it cannot be had (not built,
 * built for another ABI, not Linux), so the proxy can fall back to routing without it.
 */
export function loadOriginalDestination(): OriginalDestinationReader | { unavailable: string } {
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (err) {
    return { unavailable: `${ADDON_PATH}: ${(err as Error).message} (build it with npm run build:native)` };
  }
  return (socket) => {
    // libuv's stream handle; its file descriptor is public on Unix and -1 elsewhere.
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    const dst = fd !== undefined && fd >= 0 ? addon.originalDst(fd) : undefined;
    return dst && !isOwnAddress(socket, dst) ? dst : undefined;
  };
}

/** Conntrack also answers for connections nothing redirected: their destination is the listener itself. */
function isOwnAddress(socket: Socket, dst: OriginalDestination): boolean {
  if (dst.port !== socket.localPort) return false;
  const local = socket.localAddress;
  return local === dst.address || local === `::ffff:${dst.address}`;
}
