import type { ProxyNode } from '../config/generated/proxy-config.js';
import type { RequestLabels } from '../telemetry/metrics.js';
import type { UpstreamCluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/host.js';

/** The workload facts Istio's labels are made of, for this proxy or for a peer. */
export interface WorkloadFacts {
  workload: string;
  namespace: string;
  app: string;
  version: string;
}

const UNKNOWN = 'unknown';
export const UNKNOWN_WORKLOAD: WorkloadFacts = {
  workload: UNKNOWN,
  namespace: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
};

export function factsOfNode(node: Pick<ProxyNode, 'workload' | 'namespace' | 'labels'>): WorkloadFacts {
  return {
    workload: node.workload ?? UNKNOWN,
    namespace: node.namespace,
    app: node.labels?.app ?? node.labels?.['app.kubernetes.io/name'] ?? UNKNOWN,
    version: node.labels?.version ?? node.labels?.['app.kubernetes.io/version'] ?? UNKNOWN,
  };
}

/**
 * Istio's metadata exchange, simplified: the source proxy tells the destination proxy who it is in
 * one header (`workload;namespace;app;version`), sent only inside mesh mTLS and stripped on
 * arrival, so the destination's metrics carry source labels too.
 */
export function encodePeerMetadata(f: WorkloadFacts): string {
  return `${f.workload};${f.namespace};${f.app};${f.version}`;
}

export function decodePeerMetadata(value: string | string[] | undefined): WorkloadFacts {
  if (typeof value !== 'string') return UNKNOWN_WORKLOAD;
  const [workload, namespace, app, version] = value.split(';');
  return {
    workload: workload || UNKNOWN,
    namespace: namespace || UNKNOWN,
    app: app || UNKNOWN,
    version: version || UNKNOWN,
  };
}

/** The destination of a request, as Istio's `destination_*` labels describe it. */
export interface DestinationFacts {
  facts: WorkloadFacts;
  principal: string;
  service: string;
  serviceName: string;
  serviceNamespace: string;
}

function serviceFacts(
  host: string | undefined,
  fallbackNamespace: string,
): Omit<DestinationFacts, 'facts' | 'principal'> {
  if (!host) return { service: UNKNOWN, serviceName: UNKNOWN, serviceNamespace: fallbackNamespace };
  const [name, ns] = host.split('.');
  return { service: host, serviceName: name || UNKNOWN, serviceNamespace: ns ?? fallbackNamespace };
}

/** The destination as the source proxy knows it: the cluster's service and the chosen endpoint. */
export function destinationOf(
  cluster: UpstreamCluster | undefined,
  host: UpstreamHost | undefined,
): DestinationFacts {
  const service = serviceFacts(cluster?.config.service?.host, UNKNOWN);
  const labels = host?.endpoint.labels ?? {};
  return {
    facts: {
      workload: labels['weft.dev/workload'] ?? UNKNOWN,
      namespace: labels['weft.dev/namespace'] ?? service.serviceNamespace,
      app: labels.app ?? UNKNOWN,
      version: labels.version ?? UNKNOWN,
    },
    principal: host?.endpoint.identity ?? UNKNOWN,
    ...service,
  };
}

/** The destination as the destination proxy knows it: itself, and the service the client asked for. */
export function inboundDestination(
  self: WorkloadFacts,
  identity: string,
  authority: string,
): DestinationFacts {
  return {
    facts: self,
    principal: identity,
    ...serviceFacts(authority.replace(/:\d+$/, '') || undefined, self.namespace),
  };
}

export function requestLabels(
  reporter: 'source' | 'destination',
  source: WorkloadFacts,
  sourcePrincipal: string,
  destination: DestinationFacts,
  outcome: {
    protocol: string;
    status: number;
    grpcStatus: string | undefined;
    flags: string;
    security: string;
  },
): RequestLabels {
  return {
    reporter,
    source_workload: source.workload,
    source_workload_namespace: source.namespace,
    source_principal: sourcePrincipal,
    source_app: source.app,
    source_version: source.version,
    destination_workload: destination.facts.workload,
    destination_workload_namespace: destination.facts.namespace,
    destination_principal: destination.principal,
    destination_app: destination.facts.app,
    destination_version: destination.facts.version,
    destination_service: destination.service,
    destination_service_name: destination.serviceName,
    destination_service_namespace: destination.serviceNamespace,
    request_protocol: outcome.protocol,
    response_code: String(outcome.status),
    grpc_response_status: outcome.grpcStatus ?? '',
    response_flags: outcome.flags,
    connection_security_policy: outcome.security,
  };
}
