import type { Socket } from 'node:net';
import { finished, type Duplex } from 'node:stream';

/**
 * Holds a downstream connection while its upstream connects: paused, so no byte is lost, and
 * half-open, so a FIN that arrives meanwhile (a client that sent its request and shut down its
 * write side) leaves the way back open for the answer instead of ending it, as Node's
 * `allowHalfOpen: false` would.
 */
export function holdForSplice(downstream: Duplex): void {
  downstream.allowHalfOpen = true;
  downstream.pause();
}

/**
 * Relays a ↔ b with half-close, as Envoy's tcp_proxy and HAProxy do: one side's FIN ends the
 * other's write side (a FIN, or TLS close_notify then FIN) while the other direction keeps flowing
 * until its own FIN. `closed` runs once, when both sides have closed: after both directions ended,
 * or at once on an error, a reset or a destroy of either side, which destroys both. With
 * `idleTimeoutMs` above 0, no byte read or written on either side for that long destroys both
 * (bytes relayed one way are activity on both sockets, so each socket's own timer is enough).
 */
export function splice(a: Duplex, b: Duplex, closed: () => void, idleTimeoutMs = 0): void {
  // Node ends a socket's write side on its peer's FIN unless it is half-open (net's default is not).
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;
  let open = 2;
  const settled = (err: Error | null | undefined): void => {
    if (err) {
      a.destroy();
      b.destroy();
    }
    if (--open === 0) closed();
  };
  // `finished` waits for 'close' after both 'end' and 'finish', reports a close before them as an
  // error (ERR_STREAM_PREMATURE_CLOSE), and one that happened already: a side may have gone while
  // the other connected.
  finished(a, settled);
  finished(b, settled);
  if (idleTimeoutMs > 0) {
    const idle = (): void => {
      a.destroy();
      b.destroy();
    };
    (a as Partial<Socket>).setTimeout?.(idleTimeoutMs, idle);
    (b as Partial<Socket>).setTimeout?.(idleTimeoutMs, idle);
  }
  a.pipe(b);
  b.pipe(a);
}
