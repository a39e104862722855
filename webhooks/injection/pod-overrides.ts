import {
  ALL,
  parseBoolean,
  parseCidrs,
  parsePorts,
  parseQuantity,
  type Parsed,
} from './annotation-values.js';
import { annotations } from './names.js';

/** A pod annotation whose value injection cannot use, with what to write instead. */
export interface AnnotationProblem {
  readonly annotation: string;
  readonly value: string;
  readonly problem: string;
  readonly fix: string;
}

/** What the capture init container redirects, as Istio's `traffic.sidecar.istio.io/*` annotations. */
export interface CaptureSettings {
  readonly includeInboundPorts: typeof ALL | number[];
  readonly excludeInboundPorts: number[];
  readonly includeOutboundIPRanges: typeof ALL | string[];
  readonly excludeOutboundIPRanges: string[];
  readonly excludeOutboundPorts: number[];
}

export interface Quantity {
  readonly text: string;
  readonly amount: number;
}

/** Per-pod proxy resources; each replaces the Mesh's value of the same field. */
export interface ResourceOverrides {
  readonly cpu?: Quantity;
  readonly memory?: Quantity;
  readonly cpuLimit?: Quantity;
  readonly memoryLimit?: Quantity;
}

/** Everything a pod's annotations change about its injection. */
export interface PodOverrides {
  readonly nativeSidecar?: boolean;
  readonly rewriteAppHTTPProbers: boolean;
  readonly resources: ResourceOverrides;
  readonly capture: CaptureSettings;
}

/**
 * The pod's injection annotations, read and checked; every bad value is a problem (never an
 * exception), so the pod is refused with all of them at once. Pure.
 */
export function podOverrides(podAnnotations: Readonly<Record<string, string>>): {
  overrides: PodOverrides;
  problems: AnnotationProblem[];
} {
  const problems: AnnotationProblem[] = [];
  const read = <T>(annotation: string, parse: (text: string) => Parsed<T>): T | undefined => {
    const value = podAnnotations[annotation];
    if (value === undefined) return undefined;
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    problems.push({ annotation, value, problem: parsed.problem, fix: parsed.fix });
    return undefined;
  };
  const ports = (annotation: string): number[] =>
    (read(annotation, (t) => parsePorts(t, false)) as number[] | undefined) ?? [];
  const cidrs = (annotation: string): string[] =>
    (read(annotation, (t) => parseCidrs(t, false)) as string[] | undefined) ?? [];

  const overrides: PodOverrides = {
    nativeSidecar: read(annotations.nativeSidecar, parseBoolean),
    rewriteAppHTTPProbers: read(annotations.rewriteAppHTTPProbers, parseBoolean) ?? true,
    resources: {
      cpu: read(annotations.proxyCPU, parseQuantity),
      memory: read(annotations.proxyMemory, parseQuantity),
      cpuLimit: read(annotations.proxyCPULimit, parseQuantity),
      memoryLimit: read(annotations.proxyMemoryLimit, parseQuantity),
    },
    capture: {
      includeInboundPorts: read(annotations.includeInboundPorts, (t) => parsePorts(t, true)) ?? ALL,
      excludeInboundPorts: ports(annotations.excludeInboundPorts),
      includeOutboundIPRanges: read(annotations.includeOutboundIPRanges, (t) => parseCidrs(t, true)) ?? ALL,
      excludeOutboundIPRanges: cidrs(annotations.excludeOutboundIPRanges),
      excludeOutboundPorts: ports(annotations.excludeOutboundPorts),
    },
  };
  return { overrides, problems };
}
