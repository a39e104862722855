import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';

/**
 * One access-log line, modelled on Istio's default JSON access log (Envoy's JSON format with
 * Istio's fields). Times are in milliseconds. Optional fields are written as `null` when absent,
 * as Envoy does, so every line has the same keys.
 */
export interface AccessLogEntry {
  /** ISO-8601 time the first request byte arrived. */
  start_time: string;
  method: string;
  path: string;
  /** `HTTP/1.1`, `HTTP/2`, or `tcp` for a TCP connection. */
  protocol: string;
  /** 0 when no response was sent, as Envoy logs it. */
  response_code: number;
  /** Envoy response flags, `-` when none. */
  response_flags: string;
  bytes_received: number;
  bytes_sent: number;
  /** Total time from the first request byte to the last response byte. */
  duration: number;
  /** Time the upstream took to answer; absent when no upstream answered. */
  upstream_service_time?: number | null;
  x_forwarded_for?: string | null;
  user_agent?: string | null;
  request_id?: string | null;
  authority?: string | null;
  /** `address:port` of the upstream endpoint. */
  upstream_host?: string | null;
  upstream_cluster?: string | null;
  route_name?: string | null;
  downstream_remote_address: string;
  /** The client's SPIFFE identity when it presented an mTLS certificate. */
  downstream_peer_principal?: string | null;
  /** `mutual_tls`, `none`, or `unknown`. */
  connection_security_policy: string;
  /** `source` for outbound (client-side) traffic, `destination` for inbound (server-side). */
  reporter: 'source' | 'destination';
}

export interface AccessLogger {
  /** False when logging is off, so callers skip building entries nobody writes. */
  readonly enabled: boolean;
  log(entry: AccessLogEntry): void;
  /** Starts writing whatever is buffered; call before exit so the last lines are not lost. */
  flush(): void;
}

export interface AccessLoggerOptions {
  enabled: boolean;
  /** A stream (tests, custom sinks) or a file descriptor; standard output by default. */
  destination?: DestinationStream | number;
}

const OPTIONAL_FIELDS = [
  'upstream_service_time',
  'x_forwarded_for',
  'user_agent',
  'request_id',
  'authority',
  'upstream_host',
  'upstream_cluster',
  'route_name',
  'downstream_peer_principal',
] as const satisfies readonly (keyof AccessLogEntry)[];

/**
 * Past this much unwritten output (a stalled log reader), lines are dropped rather than buffered
 * without bound: a proxy under load must not run out of memory over its access log.
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

const noop = (): void => {};

// One shared object, so creating or calling a disabled logger allocates nothing.
const DISABLED: AccessLogger = Object.freeze({ enabled: false, log: noop, flush: noop });

function record(entry: AccessLogEntry): Record<string, unknown> {
  const out: Record<string, unknown> = { ...entry };
  for (const field of OPTIONAL_FIELDS) out[field] = entry[field] ?? null;
  return out;
}

export function createAccessLogger(options: AccessLoggerOptions): AccessLogger {
  if (!options.enabled) return DISABLED;
  const dest = options.destination;
  // Asynchronous writes: a slow stdout reader must never stall request handling.
  const stream =
    typeof dest === 'object'
      ? dest
      : pino.destination({ dest: dest ?? 1, sync: false, maxLength: MAX_BUFFERED_BYTES });
  // No pid/hostname: the pod's log metadata already carries them, and they would repeat per line.
  const logger: Logger = pino({ base: null, level: 'info' }, stream);
  return {
    enabled: true,
    log(entry: AccessLogEntry): void {
      logger.info(record(entry), 'access');
    },
    flush(): void {
      logger.flush();
    },
  };
}
