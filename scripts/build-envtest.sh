#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kubectl, etcd) from the Go module proxy and
# caches it by version under .cache/envtest/<k8s>-<os>-<arch>/. Prints the directory to use as
# KUBEBUILDER_ASSETS. Skips the build when every binary is already cached.
#
#   scripts/build-envtest.sh            # build or reuse the cache, print the directory
#   K8S_VERSION=1.36.3 ETCD_VERSION=3.6.16 scripts/build-envtest.sh
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.7.3}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
os="$(go env GOOS)"; arch="$(go env GOARCH)"
out="${ENVTEST_CACHE:-$root/.cache/envtest}/${K8S_VERSION}-${os}-${arch}"
staging_version="v0.${K8S_VERSION#1.}"

have_all() {
  for b in kube-apiserver kubectl etcd helm; do [ -x "$out/$b" ] || return 1; done
}
if have_all; then echo "$out"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "build-envtest: Go is needed once to build kube-apiserver, etcd, kubectl and helm (Go >= 1.26;" >&2
  echo "  install it, or point KUBEBUILDER_ASSETS at a directory that holds those binaries)" >&2
  exit 1
fi

mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
log() { echo "build-envtest: $*" >&2; }

if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kubectl" ]; then
  log "building kube-apiserver and kubectl v${K8S_VERSION} (first run takes several minutes)"
  mkdir -p "$work/k8s" && cd "$work/k8s"
  go mod init local/envtest-build >/dev/null 2>&1
  # One replace per staging module, derived from the tag's own go.mod.
  mod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$mod"); do
    go mod edit -replace="$m=$m@${staging_version}"
  done
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}" >&2
  go get -tool "k8s.io/kubernetes/cmd/kubectl@v${K8S_VERSION}" >&2
  minor="${K8S_VERSION#1.}"; minor="${minor%%.*}"
  stamp=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp="$stamp -X $pkg.gitVersion=v${K8S_VERSION} -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor}"
    stamp="$stamp -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  go build -trimpath -ldflags "-s -w $stamp" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "-s -w $stamp" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl
fi

if [ ! -x "$out/etcd" ]; then
  log "building etcd v${ETCD_VERSION}"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init local/etcd-build >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >&2
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
fi

if [ ! -x "$out/helm" ]; then
  log "building helm v${HELM_VERSION}"
  mkdir -p "$work/helm" && cd "$work/helm"
  go mod init local/helm-build >/dev/null 2>&1
  go get -tool "helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}" >&2
  hstamp="-X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}"
  go build -trimpath -ldflags "-s -w $hstamp" -o "$out/helm" helm.sh/helm/v3/cmd/helm
fi

have_all
echo "$out"
