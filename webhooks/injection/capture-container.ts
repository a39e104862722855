import type { V1Container } from '@kubernetes/client-node';
import { ports } from '../../cdk8s/names.js';
import { ALL } from './annotation-values.js';
import { CAPTURE_CONTAINER, PROXY_UID } from './names.js';
import type { CaptureSettings } from './pod-overrides.js';

/**
 * Ports of the proxy's own that inbound capture never redirects: the kubelet probes the health port
 * and Prometheus scrapes the metrics port directly; admin is loopback-only but excluded all the same.
 */
const PROXY_OWN_PORTS: readonly number[] = [ports.proxyAdmin, ports.proxyHealth, ports.proxyMetrics];

const list = (value: typeof ALL | readonly (number | string)[]): string =>
  value === ALL ? ALL : value.join(',');

/**
 * The arguments of the image's `weft-init` entrypoint (proxy/capture/weft-init.ts): where to
 * redirect (the proxy's outbound and inbound ports), whose traffic to let through (the proxy's UID
 * and group), and what to include or exclude, in the same terms as Istio's istio-iptables. An
 * include list that is empty captures nothing. Pure.
 */
export function captureArgs(capture: CaptureSettings): string[] {
  const excludeInbound = [
    ...PROXY_OWN_PORTS,
    ...capture.excludeInboundPorts.filter((p) => !PROXY_OWN_PORTS.includes(p)),
  ];
  return [
    CAPTURE_CONTAINER,
    `--proxy-port=${ports.proxyOutbound}`,
    `--inbound-capture-port=${ports.proxyInbound}`,
    `--proxy-uid=${PROXY_UID}`,
    `--proxy-gid=${PROXY_UID}`,
    `--include-inbound-ports=${list(capture.includeInboundPorts)}`,
    `--exclude-inbound-ports=${list(excludeInbound)}`,
    `--include-outbound-cidrs=${list(capture.includeOutboundIPRanges)}`,
    `--exclude-outbound-cidrs=${list(capture.excludeOutboundIPRanges)}`,
    `--exclude-outbound-ports=${list(capture.excludeOutboundPorts)}`,
  ];
}

/**
 * The init container that installs the pod's traffic capture before any other container starts.
 * iptables needs root with NET_ADMIN and NET_RAW in the pod's network namespace, and nothing else:
 * every other capability is dropped, and it runs as root even in a pod that asks for non-root. Its
 * root filesystem stays writable for iptables' lock file (/run/xtables.lock).
 */
export function captureContainer(image: string, capture: CaptureSettings): V1Container {
  return {
    name: CAPTURE_CONTAINER,
    image,
    args: captureArgs(capture),
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}
