import type { IApiEndpoint, IApiResource } from 'cdk8s-plus-28';

/** An RBAC rule target; `name` restricts the rule to one object, for least privilege. */
export function apiResource(apiGroup: string, resourceType: string, name?: string): IApiEndpoint {
  const resource: IApiResource = { apiGroup, resourceType, resourceName: name };
  return { asApiResource: () => resource, asNonApiResource: () => undefined };
}

export const TRAFFIC_RESOURCES = [
  ['networking.weft.dev', 'virtualservices'],
  ['networking.weft.dev', 'destinationrules'],
  ['networking.weft.dev', 'gateways'],
  ['networking.weft.dev', 'serviceentries'],
  ['networking.weft.dev', 'workloadentries'],
  ['networking.weft.dev', 'sidecars'],
  ['security.weft.dev', 'peerauthentications'],
  ['security.weft.dev', 'authorizationpolicies'],
] as const;
