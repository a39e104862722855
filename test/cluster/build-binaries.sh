#!/usr/bin/env bash
# Builds the local cluster's binaries from their Go modules with the machine's Go toolchain and
# module proxy: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd and kwok.
# Output goes to a cache outside the repository so every clone and CI run reuses it.
#
#   build-binaries.sh <k8s-version> <kwok-version> <out-dir>
#
# k8s.io/kubernetes only builds as a dependency when every staging module it replaces with a
# relative path is replaced by its published v0.Y.Z twin; the throwaway go.mod below does that,
# reading the list of staging modules from k8s.io/kubernetes's own go.mod.
set -euo pipefail

k8s_version="$1"       # e.g. v1.35.4
kwok_version="$2"      # e.g. v0.8.0
out="$3"
staging_version="v0${k8s_version#v1}"   # v1.35.4 -> v0.35.4

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0

say() { printf '[build] %s\n' "$*"; }

say "resolving k8s.io/kubernetes ${k8s_version} (module proxy)"
cd "$work"
go mod init weft.dev/cluster-binaries >/dev/null 2>&1
gomod="$(go mod download -json "k8s.io/kubernetes@${k8s_version}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
[ -f "$gomod" ] || { echo "could not download k8s.io/kubernetes@${k8s_version}" >&2; exit 1; }

{
  echo "module weft.dev/cluster-binaries"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
  echo
  echo "require k8s.io/kubernetes ${k8s_version}"
  echo
  echo "replace ("
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"${staging_version}"'#p' "$gomod"
  echo ")"
} > go.mod

# etcd's server is already in k8s.io/kubernetes's module graph (its integration tests embed it),
# so a one-line main builds the etcd that matches this Kubernetes release.
mkdir -p cmd/etcd
cat > cmd/etcd/main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO

say "resolving module graph"
go mod tidy >/dev/null 2>&1 || go mod tidy

ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${k8s_version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=${k8s_version}"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  if [ -x "$out/$cmd" ]; then say "$cmd: cached"; continue; fi
  say "building $cmd (several minutes on 2 cores)"
  go build -trimpath -ldflags "$ldflags" -o "$out/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
  mv "$out/$cmd.tmp" "$out/$cmd"
done
if [ ! -x "$out/etcd" ]; then
  say "building etcd"
  go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" ./cmd/etcd
  mv "$out/etcd.tmp" "$out/etcd"
fi

if [ ! -x "$out/kwok" ]; then
  say "building kwok ${kwok_version}"
  GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${kwok_version}"
  mv "$work/bin/kwok" "$out/kwok"
fi
if [ ! -f "$out/kwok-stages.yaml" ]; then
  # kwok refuses to start without Stages; these are the ones kwokctl uses by default
  # (nodes initialised and kept alive through their Lease, pods made Ready, completed and deleted).
  kwok_dir="$(go mod download -json "sigs.k8s.io/kwok@${kwok_version}" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
  for f in "$kwok_dir"/kustomize/stage/node/fast/*.yaml "$kwok_dir"/kustomize/stage/node/heartbeat-with-lease/*.yaml \
           "$kwok_dir"/kustomize/stage/pod/fast/*.yaml; do
    case "$(basename "$f")" in kustomization.yaml) continue ;; esac
    echo "---"; cat "$f"
  done > "$out/kwok-stages.yaml.tmp"
  mv "$out/kwok-stages.yaml.tmp" "$out/kwok-stages.yaml"
fi
say "done: $(ls "$out" | tr '\n' ' ')"
