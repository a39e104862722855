import type { BenchPki } from './bench-pki.js';

/**
 * Who carries the traffic. `direct` is the baseline: the client talks to the upstream itself. `node`
 * is a bare Node forwarder with none of Weft's features (peers/node-forwarder.ts): what the runtime costs.
 */
export type Peer = 'direct' | 'haproxy' | 'nginx' | 'node' | 'weft';
export const PEERS: readonly Peer[] = ['direct', 'haproxy', 'nginx', 'node', 'weft'];

/** A topology and a security setting: client -> hop 1 [-> hop 2] -> upstream. */
export interface Scenario {
  readonly name: string;
  readonly hops: 1 | 2;
  /** Mutual TLS between the two hops (Weft: mesh mTLS, STRICT on the server side). */
  readonly mtls: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: '1hop-plain', hops: 1, mtls: false },
  { name: '2hop-plain', hops: 2, mtls: false },
  { name: '2hop-mtls', hops: 2, mtls: true },
];

/** The upstream every path ends at, and the Host the client sends (the proxies route on it). */
export const UPSTREAM_PORT = 28080;
export const SERVICE_HOST = 'svc:9080';
export const BODY_BYTES = 1024;

/** One proxy process of a path: how to run it, the files it reads, and the port it answers on. */
export interface HopProcess {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly files: readonly { readonly path: string; readonly content: string }[];
  readonly port: number;
}

/** What a peer module renders for a scenario: the client's entry port and the processes behind it. */
export interface PeerPath {
  readonly entryPort: number;
  /** In path order: hop 1, then hop 2. */
  readonly hops: readonly HopProcess[];
}

export interface PathContext {
  readonly scenario: Scenario;
  /** Index of the scenario: each gets its own ports, so a slow exit never collides with the next. */
  readonly index: number;
  readonly dir: string;
  readonly pki: BenchPki;
}
