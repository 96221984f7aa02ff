#!/usr/bin/env bash
# Builds the binaries of the local simulated GPU cluster from the Go module proxy and caches
# them under $HOME/.cache/gpuaas-orchestration/bin/<key>/, the key made of the pinned versions,
# so that a rebuild only happens when a version changes.  Prints the bin directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"

cache_root="${GPUAAS_CACHE:-$HOME/.cache/gpuaas-orchestration}"
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_kueue-${KUEUE_VERSION}_karpenter-${KARPENTER_VERSION}_jobset-${JOBSET_VERSION}"
bin="$cache_root/bin/$key"
work="$cache_root/build"
mkdir -p "$bin" "$work"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
log() { echo "[build] $*" >&2; }

staging_version="v0.${KUBERNETES_VERSION#v1.}"   # v1.36.3 -> v0.36.3
k8s_minor="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
version_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  version_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# One wrapper module for Kubernetes, Kueue and KWOK: they share one set of k8s.io versions,
# so the shared packages compile once.
build_k8s_family() {
  local dir="$work/k8s-family-$key"
  if [[ -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" && -x "$bin/kube-scheduler" \
        && -x "$bin/kueue" && -x "$bin/kwok" && -x "$bin/kubectl" ]]; then return; fi
  mkdir -p "$dir"; cd "$dir"
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module gpuaas.local/clusterbuild"
    echo "go 1.26.0"
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod"
    echo ")"
  } > go.mod
  log "resolving Kubernetes $KUBERNETES_VERSION, Kueue $KUEUE_VERSION, KWOK $KWOK_VERSION"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" \
         "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBERNETES_VERSION" \
         "k8s.io/kubernetes/cmd/kube-scheduler@$KUBERNETES_VERSION" \
         "sigs.k8s.io/kueue/cmd/kueue@$KUEUE_VERSION" \
         "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" \
         "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION" >&2
  log "building kube-apiserver kube-controller-manager kube-scheduler kubectl kueue kwok"
  go build -ldflags "$version_ldflags" -o "$bin/" \
     k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
     k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
     sigs.k8s.io/kueue/cmd/kueue sigs.k8s.io/kwok/cmd/kwok >&2
}

build_etcd() {
  [[ -x "$bin/etcd" ]] && return
  local dir="$work/etcd-$ETCD_VERSION"
  mkdir -p "$dir"; cd "$dir"
  printf 'module gpuaas.local/etcdbuild\ngo 1.26.0\n' > go.mod
  log "building etcd $ETCD_VERSION"
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go build -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 >&2
}

# Karpenter pins older k8s.io libraries and controller-runtime than Kueue: its own module.
build_karpenter() {
  [[ -x "$bin/karpenter-kwok" ]] && return
  local dir="$work/karpenter-$KARPENTER_VERSION"
  mkdir -p "$dir"; cd "$dir"
  printf 'module gpuaas.local/karpenterbuild\ngo 1.26.6\n' > go.mod
  log "building Karpenter $KARPENTER_VERSION (KWOK provider)"
  go mod edit -dropreplace sigs.k8s.io/karpenter 2>/dev/null || true
  go get "sigs.k8s.io/karpenter/kwok@$KARPENTER_VERSION" >&2
  # Karpenter binds its metrics and health-probe servers to ":port", every interface. Nothing of
  # this project may listen beyond loopback, and Karpenter has no bind-address option, so the
  # build compiles a copy of the module whose operator.go has 127.0.0.1 in those two addresses
  # (a go.mod replace; the module cache stays untouched). It fails loudly if the lines change.
  local orig
  orig="$(go list -m -f '{{.Dir}}' sigs.k8s.io/karpenter)"
  rm -rf "$dir/karpenter-src"; cp -r "$orig" "$dir/karpenter-src"; chmod -R u+w "$dir/karpenter-src"
  local op="$dir/karpenter-src/pkg/operator/operator.go"
  sed -i -e 's/BindAddress: fmt.Sprintf(":%d", options.FromContext(ctx).MetricsPort)/BindAddress: fmt.Sprintf("127.0.0.1:%d", options.FromContext(ctx).MetricsPort)/' \
         -e 's/HealthProbeBindAddress: fmt.Sprintf(":%d", options.FromContext(ctx).HealthProbePort)/HealthProbeBindAddress: fmt.Sprintf("127.0.0.1:%d", options.FromContext(ctx).HealthProbePort)/' "$op"
  if [[ "$(grep -c '"127.0.0.1:%d"' "$op")" != 2 ]]; then
    echo "karpenter operator.go changed: cannot pin its listeners to 127.0.0.1" >&2; exit 1
  fi
  go mod edit -replace "sigs.k8s.io/karpenter=./karpenter-src"
  go build -ldflags "-s -w" -o "$bin/karpenter-kwok" sigs.k8s.io/karpenter/kwok >&2
}

# JobSet pins its own k8s.io libraries and controller-runtime: its own module, like Karpenter.
build_jobset() {
  [[ -x "$bin/jobset-controller" ]] && return
  local dir="$work/jobset-$JOBSET_VERSION"
  mkdir -p "$dir"; cd "$dir"
  printf 'module gpuaas.local/jobsetbuild\ngo 1.26.0\n' > go.mod
  log "building JobSet $JOBSET_VERSION"
  go get "sigs.k8s.io/jobset@$JOBSET_VERSION" >&2
  go build -ldflags "-s -w" -o "$bin/jobset-controller" sigs.k8s.io/jobset >&2
}

# CRD sources that ship inside Go modules (module zips carry every file of the repository).
fetch_crds() {
  local mod
  for mod in "sigs.k8s.io/kueue@$KUEUE_VERSION" "sigs.k8s.io/karpenter@$KARPENTER_VERSION" \
             "sigs.k8s.io/jobset@$JOBSET_VERSION" "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
             "sigs.k8s.io/gateway-api-inference-extension@$INFERENCE_EXTENSION_VERSION"; do
    go mod download "$mod" >&2
  done
}

case "${1:-all}" in
  all) build_etcd; build_k8s_family; build_karpenter; build_jobset; fetch_crds ;;
  etcd) build_etcd ;; k8s) build_k8s_family ;; karpenter) build_karpenter ;; jobset) build_jobset ;;
  crds) fetch_crds ;;
  *) echo "usage: $0 [all|etcd|k8s|karpenter|jobset|crds]" >&2; exit 2 ;;
esac
echo "$bin"
