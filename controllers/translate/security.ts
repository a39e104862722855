import type {
  AuthorizationPolicy,
  Operation,
  Source,
} from '../../crds/generated/types/authorizationpolicy.js';
import type { PeerAuthentication } from '../../crds/generated/types/peerauthentication.js';
import type {
  AuthorizationPolicies,
  AuthzOperation,
  AuthzPolicy,
  AuthzSource,
  InboundMtls,
  ValueSet,
} from '../../proxy/config/generated/proxy-config.js';
import type { MeshSnapshot, ProxyIdentity } from './snapshot.js';
import { byAge, nameOf, namespaceOf, selects } from './visibility.js';

type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/**
 * The inbound mTLS mode of a workload, with Istio's precedence: a workload-level PeerAuthentication
 * (selector matches, in its namespace) over the namespace-level one (no selector) over the mesh-level
 * one (no selector, root namespace) over the Mesh's default. UNSET inherits from the next level;
 * port-level modes come from the workload-level policy only. Oldest wins among equals. Pure.
 */
export function inboundMtls(snapshot: MeshSnapshot, proxy: ProxyIdentity): InboundMtls {
  const sorted = [...snapshot.peerAuthentications].sort(byAge);
  const workloadLevel = sorted.find(
    (pa) =>
      namespaceOf(pa) === proxy.namespace &&
      pa.spec?.selector?.matchLabels &&
      selects(pa.spec.selector.matchLabels, proxy.labels),
  );
  const namespaceLevel = sorted.find(
    (pa) => namespaceOf(pa) === proxy.namespace && !pa.spec?.selector?.matchLabels,
  );
  const meshLevel = sorted.find(
    (pa) => namespaceOf(pa) === snapshot.mesh.rootNamespace && !pa.spec?.selector?.matchLabels,
  );
  let mode: MtlsMode = snapshot.mesh.mtlsMode;
  for (const pa of [meshLevel, namespaceLevel, workloadLevel]) {
    const m = pa?.spec?.mtls?.mode;
    if (m && m !== 'UNSET') mode = m;
  }
  const portLevel = portLevelModes(workloadLevel, mode);
  return { mode, ...(Object.keys(portLevel).length > 0 ? { portLevel } : {}) };
}

function portLevelModes(pa: PeerAuthentication | undefined, inherited: MtlsMode): Record<string, MtlsMode> {
  const out: Record<string, MtlsMode> = {};
  for (const [port, setting] of Object.entries(pa?.spec?.portLevelMtls ?? {})) {
    const m = setting.mode;
    out[port] = !m || m === 'UNSET' ? inherited : m;
  }
  return out;
}

const valueSet = (values: string[] | undefined, notValues: string[] | undefined): ValueSet | undefined =>
  values || notValues
    ? { ...(values ? { values: [...values] } : {}), ...(notValues ? { notValues: [...notValues] } : {}) }
    : undefined;

function source(s: Source): AuthzSource {
  const out: AuthzSource = {};
  const principals = valueSet(s.principals, s.notPrincipals);
  const namespaces = valueSet(s.namespaces, s.notNamespaces);
  const ipBlocks = valueSet(s.ipBlocks ?? s.remoteIpBlocks, s.notIpBlocks ?? s.notRemoteIpBlocks);
  if (principals) out.principals = principals;
  if (namespaces) out.namespaces = namespaces;
  if (ipBlocks) out.ipBlocks = ipBlocks;
  // Kept even though validation refuses them: dropping them would turn "ALLOW only these JWT
  // principals" into "ALLOW everyone" for a policy that reached the cluster without the webhook.
  const requestPrincipals = valueSet(s.requestPrincipals, s.notRequestPrincipals);
  if (requestPrincipals) out.requestPrincipals = requestPrincipals;
  return out;
}

function operation(o: Operation): AuthzOperation {
  const out: AuthzOperation = {};
  const fields = {
    hosts: valueSet(o.hosts, o.notHosts),
    ports: valueSet(o.ports, o.notPorts),
    methods: valueSet(o.methods, o.notMethods),
    paths: valueSet(o.paths, o.notPaths),
  };
  for (const [k, v] of Object.entries(fields)) if (v) out[k as keyof AuthzOperation] = v;
  return out;
}

function policy(ap: AuthorizationPolicy): AuthzPolicy {
  return {
    name: nameOf(ap),
    rules: (ap.spec?.rules ?? []).map((rule) => ({
      ...(rule.from ? { from: rule.from.map((f) => source(f.source)) } : {}),
      ...(rule.to ? { to: rule.to.map((t) => operation(t.operation)) } : {}),
      ...(rule.when
        ? {
            when: rule.when.map((c) => ({
              key: c.key,
              ...(c.values ? { values: [...c.values] } : {}),
              ...(c.notValues ? { notValues: [...c.notValues] } : {}),
            })),
          }
        : {}),
    })),
  };
}

/**
 * The AuthorizationPolicies that apply to a workload: those of the root namespace and of its own
 * namespace whose selector selects it (or that have none). CUSTOM policies need an external
 * authorizer, which Weft does not have; they are left out (and reported by validation). Pure.
 */
export function authorizationFor(snapshot: MeshSnapshot, proxy: ProxyIdentity): AuthorizationPolicies {
  const applies = (ap: AuthorizationPolicy): boolean =>
    (namespaceOf(ap) === snapshot.mesh.rootNamespace || namespaceOf(ap) === proxy.namespace) &&
    selects(ap.spec?.selector?.matchLabels, proxy.labels);
  const sorted = snapshot.authorizationPolicies
    .filter(applies)
    .sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  const byAction = (action: string): AuthzPolicy[] =>
    sorted.filter((ap) => (ap.spec?.action ?? 'ALLOW') === action).map(policy);
  return { deny: byAction('DENY'), allow: byAction('ALLOW'), audit: byAction('AUDIT') };
}
