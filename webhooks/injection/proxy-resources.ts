import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { parseQuantity } from './annotation-values.js';
import { annotations } from './names.js';
import type { AnnotationProblem, Quantity, ResourceOverrides } from './pod-overrides.js';

const RESOURCES = [
  { name: 'cpu', request: 'cpu', limit: 'cpuLimit', requestKey: 'proxyCPU', limitKey: 'proxyCPULimit' },
  {
    name: 'memory',
    request: 'memory',
    limit: 'memoryLimit',
    requestKey: 'proxyMemory',
    limitKey: 'proxyMemoryLimit',
  },
] as const;

const amountOf = (text: string | undefined): number | undefined => {
  const parsed = text === undefined ? undefined : parseQuantity(text);
  return parsed?.ok ? parsed.value.amount : undefined;
};

type Resource = (typeof RESOURCES)[number];

/** The problem of a request above its limit, naming the annotation the pod set (the request if both). */
function requestAboveLimit(
  r: Resource,
  requests: Readonly<Record<string, string>>,
  limits: Readonly<Record<string, string>>,
  set: { readonly request?: Quantity; readonly limit?: Quantity },
): AnnotationProblem | undefined {
  const requested = amountOf(requests[r.name]);
  const limited = amountOf(limits[r.name]);
  if (requested === undefined || limited === undefined || requested <= limited) return undefined;
  const fromMesh = set.request && set.limit ? '' : ' (from the Mesh spec.proxy.resources)';
  const problem = `the proxy's ${r.name} request ${requests[r.name]} is above its ${r.name} limit ${limits[r.name]}${fromMesh}`;
  if (set.request)
    return {
      annotation: annotations[r.requestKey],
      value: set.request.text,
      problem,
      fix: `lower it, or raise the limit with ${annotations[r.limitKey]}`,
    };
  return {
    annotation: annotations[r.limitKey],
    value: set.limit?.text ?? '',
    problem,
    fix: `raise it to at least ${requests[r.name]}, or lower the request with ${annotations[r.requestKey]}`,
  };
}

/**
 * The proxy's resources: the Mesh's, with each field a pod annotation sets replaced. A request above
 * its limit is a problem here rather than the API server's less helpful refusal of the container.
 * Pure.
 */
export function proxyResources(
  mesh: V1ResourceRequirements,
  overrides: ResourceOverrides,
): { resources: V1ResourceRequirements; problems: AnnotationProblem[] } {
  const requests: Record<string, string> = { ...mesh.requests };
  const limits: Record<string, string> = { ...mesh.limits };
  const problems: AnnotationProblem[] = [];
  for (const r of RESOURCES) {
    const set = { request: overrides[r.request], limit: overrides[r.limit] };
    if (!set.request && !set.limit) continue;
    if (set.request) requests[r.name] = set.request.text;
    if (set.limit) limits[r.name] = set.limit.text;
    const problem = requestAboveLimit(r, requests, limits, set);
    if (problem) problems.push(problem);
  }
  return {
    resources: {
      ...(Object.keys(requests).length > 0 ? { requests } : {}),
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
    },
    problems,
  };
}
