/** The names injection writes into pods, and the pod annotations it reads. */

export const PROXY_CONTAINER = 'weft-proxy';
export const CAPTURE_CONTAINER = 'weft-init';

/** The proxy runs as this UID; the capture rules let its own traffic through, as Istio's 1337. */
export const PROXY_UID = 1337;

export const annotations = {
  /** What was injected (JSON); its presence makes a second pass a no-op. */
  status: 'sidecar.weft.dev/status',
  proxyCPU: 'sidecar.weft.dev/proxyCPU',
  proxyMemory: 'sidecar.weft.dev/proxyMemory',
  proxyCPULimit: 'sidecar.weft.dev/proxyCPULimit',
  proxyMemoryLimit: 'sidecar.weft.dev/proxyMemoryLimit',
  nativeSidecar: 'sidecar.weft.dev/nativeSidecar',
  rewriteAppHTTPProbers: 'sidecar.weft.dev/rewriteAppHTTPProbers',
  /** The application's original HTTP probes (JSON), which the proxy's health port forwards to. */
  appProbers: 'sidecar.weft.dev/appProbers',
  includeInboundPorts: 'traffic.sidecar.weft.dev/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.weft.dev/excludeInboundPorts',
  includeOutboundIPRanges: 'traffic.sidecar.weft.dev/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.weft.dev/excludeOutboundIPRanges',
  excludeOutboundPorts: 'traffic.sidecar.weft.dev/excludeOutboundPorts',
  defaultContainer: 'kubectl.kubernetes.io/default-container',
  prometheusScrape: 'prometheus.io/scrape',
  prometheusPort: 'prometheus.io/port',
  prometheusPath: 'prometheus.io/path',
} as const;

/** Where the proxy serves its Prometheus metrics (proxy/admin/admin-servers.ts). */
export const PROXY_METRICS_PATH = '/stats/prometheus';
/** The proxy's readiness, on the health port. */
export const PROXY_READY_PATH = '/healthz/ready';
