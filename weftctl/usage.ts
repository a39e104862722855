/** weftctl's help texts: the overview, and one per command. */

export const DEFAULT_CONTROL_PLANE = 'http://127.0.0.1:15014';

const CONTROL_PLANE_FLAG = `  --control-plane URL   the control plane's monitoring port (default $WEFT_CONTROL_PLANE, then ${DEFAULT_CONTROL_PLANE})`;

const EXIT_CODES = `Exit codes: 0 done; 1 problems found (analyze errors, a failed check, an unknown proxy, an install
that did not become ready in time, an uninstall refused); 2 wrong command line; 3 something needed is
unavailable (control plane, cluster, file, permission).`;

const KUBECONFIG_FLAG = `  --kubeconfig FILE     the cluster (default $KUBECONFIG, then ~/.kube/config)`;
const TIMEOUT_FLAG = `  --timeout DURATION    how long to wait for each step, e.g. 90s or 10m (default 5m)`;

export const commandUsage = {
  'proxy-status': `usage: weftctl proxy-status [-o table|json] [--control-plane URL]
Every proxy connected to the control plane, and whether it runs the latest configuration:
SYNCED (acknowledged what was sent), STALE (not yet acknowledged) or NACK (rejected it).
${CONTROL_PLANE_FLAG}`,
  'proxy-config': `usage: weftctl proxy-config <proxy-id> [-o json|yaml] [--control-plane URL]
The configuration the control plane last sent to one proxy (listeners, routes, clusters, endpoints,
identity and policy). Proxy ids are listed by weftctl proxy-status.
${CONTROL_PLANE_FLAG}`,
  analyze: `usage: weftctl analyze [-f FILE|DIR ...] [PATH ...] [-o text|json]
       weftctl analyze --cluster [-n NAMESPACE] [--kubeconfig FILE] [-o text|json]
Checks Weft resources with the CRD schemas and the validating webhook's checks, and prints each
problem with the resource, the field and what to do. Directories are read recursively (*.yaml,
*.yml, *.json); "-" reads standard input. --cluster checks what is stored in the cluster (all
namespaces unless -n), with --kubeconfig or else $KUBECONFIG, then ~/.kube/config.
CEL rules in the CRDs are checked by the API server only. Exits 1 when any error is found.`,
  manifest: `usage: weftctl manifest generate [-n NAMESPACE] [--image IMAGE]
Prints the Weft CRDs and the operator's install (Namespace, ServiceAccount, least-privilege RBAC,
Deployment) as YAML, for kubectl apply --server-side -f - or a GitOps repository.
  -n, --namespace   where the operator runs (default weft-operator)
  --image           the operator image (default the release's, ghcr.io/weft-dev/weft:v<version>)`,
  install: `usage: weftctl install [-n NAMESPACE] [--image IMAGE] [--mesh FILE] [--no-wait] [--timeout DURATION]
                       [--kubeconfig FILE]
Installs what weftctl manifest generate prints, by server-side apply with field manager weftctl: the
CRDs (and waits until they are Established), then the operator (Namespace, ServiceAccount, RBAC,
Deployment), and waits until its Deployment is Available. Safe to repeat: a second install changes
nothing and says so; an install of a newer weftctl updates what changed.
  -n, --namespace   where the operator runs (default weft-operator)
  --image           the operator image (default the release's, ghcr.io/weft-dev/weft:v<version>)
  --mesh FILE       also apply the Mesh resources in FILE (checked first) and wait until they are Ready
  --no-wait         apply and return, without waiting for the operator and Meshes
${TIMEOUT_FLAG}
${KUBECONFIG_FLAG}`,
  uninstall: `usage: weftctl uninstall [-n NAMESPACE] [--keep-crds] [-y|--yes] [--force] [--timeout DURATION]
                         [--kubeconfig FILE]
Removes Weft in the reverse order of install: every Mesh first, waiting while the operator removes
its children (control plane, gateways, webhooks, its namespace) and releases its finalizer; then the
operator, its RBAC and namespace; then the CRDs. With nothing installed it says so and exits 0.
It refuses (exit 1, listing them) when Meshes exist, or Weft resources that deleting the CRDs would
delete, unless told --yes.
  -n, --namespace   where the operator runs (default weft-operator)
  --keep-crds       keep the CRDs, and with them your VirtualServices and other Weft resources
  -y, --yes         delete the Meshes and Weft resources uninstall would otherwise refuse to
  --force           as --yes, and when the operator does not release a Mesh within --timeout (it is
                    not running), remove the finalizer and the webhook configurations itself and leave
                    the other children to the garbage collector
${TIMEOUT_FLAG}
${KUBECONFIG_FLAG}`,
  check: `usage: weftctl check [--pre] [-n NAMESPACE] [--control-plane URL] [-o text|json] [--kubeconfig FILE]
Checks the cluster, as linkerd check does, and prints each check as ✔ (passed), ‼ (warning) or
× (failed, with a hint saying what to do).
  --pre             before installing: the API server answers, Kubernetes is recent enough, you may
                    create the CRDs, RBAC and operator, and no CRD of another owner is in the way
  (default)         after installing: API server; versions of weftctl, the operator and the Mesh;
                    CRDs Established; operator Available and leading; the Mesh Ready for its latest
                    generation; webhooks configured, with a caBundle, and rejecting an invalid
                    VirtualService (a server-side dry run); the mesh root and webhook serving
                    certificates valid, with days to expiry; proxies SYNCED (asks the control plane;
                    a warning when it cannot be reached)
  -n, --namespace   where the operator runs (default weft-operator)
${CONTROL_PLANE_FLAG}
${KUBECONFIG_FLAG}
Exits 0 when no check failed (warnings do not fail it), 1 when one did, 3 when the cluster cannot be
reached.`,
  version: `usage: weftctl version [-o text|json]
The version of weftctl, which is the Weft release it installs.`,
} as const;

export type CommandName = keyof typeof commandUsage;

export const OVERVIEW = `weftctl: install, inspect and check a Weft service mesh

Commands:
  proxy-status          proxies connected to the control plane: SYNCED, STALE or NACK
  proxy-config <id>     one proxy's configuration
  analyze               check Weft resources in files or in the cluster
  manifest generate     the CRDs and the operator's install, as YAML
  install               install the CRDs and the operator, and wait until they are ready
  uninstall             remove the Meshes, the operator and the CRDs
  check                 check the cluster before (--pre) or after installing
  version               weftctl's version

${EXIT_CODES}
Run weftctl <command> --help for a command's flags.`;

/** A command's help. Pure. */
export function helpFor(command: CommandName): string {
  return `${commandUsage[command]}\n  -h, --help   this help\n\n${EXIT_CODES}`;
}
