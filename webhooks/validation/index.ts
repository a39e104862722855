import type { KubernetesObject } from '@kubernetes/client-node';
import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import type { Gateway } from '../../crds/generated/types/gateway.js';
import type { ServiceEntry } from '../../crds/generated/types/serviceentry.js';
import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import type { WorkloadEntry } from '../../crds/generated/types/workloadentry.js';
import type { Validate } from '../admission.js';
import {
  NO_CONTEXT,
  validateDestinationRule,
  validateGateway,
  validateServiceEntry,
  validateSidecar,
  validateVirtualService,
  validateWorkloadEntry,
  type ValidationContext,
} from './networking.js';
import { validateAuthorizationPolicy, validatePeerAuthentication } from './security.js';

/**
 * Every Weft kind's validator, by kind: what the validating webhook serves and `weftctl analyze`
 * runs offline. Objects reaching them have passed the CRD schema, so their shape is the type's.
 */
export function validators(ctx: ValidationContext = NO_CONTEXT): ReadonlyMap<string, Validate> {
  return new Map<string, Validate>([
    ['VirtualService', (o: KubernetesObject) => validateVirtualService(o as VirtualService, ctx)],
    ['DestinationRule', (o: KubernetesObject) => validateDestinationRule(o as DestinationRule)],
    ['Gateway', (o: KubernetesObject) => validateGateway(o as Gateway)],
    ['ServiceEntry', (o: KubernetesObject) => validateServiceEntry(o as ServiceEntry)],
    ['WorkloadEntry', (o: KubernetesObject) => validateWorkloadEntry(o as WorkloadEntry)],
    ['Sidecar', (o: KubernetesObject) => validateSidecar(o)],
    ['PeerAuthentication', (o: KubernetesObject) => validatePeerAuthentication(o)],
    ['AuthorizationPolicy', (o: KubernetesObject) => validateAuthorizationPolicy(o)],
  ]);
}
