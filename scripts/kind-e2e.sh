#!/usr/bin/env bash
# `make kind-e2e`: CRA on a real cluster with kubelets, for machines with Docker (not run in CI).
#   1. builds the image with docker
#   2. creates a kind cluster (or reuses one of the same name) and loads the image into it
#   3. installs the chart (helm upgrade --install --wait), the image pulled from the nodes only
#   4. applies the reference atlases (atlases/*/resource.yaml) and an AgentIdentity with an API key
#   5. waits for every Atlas to be Ready and the runtime to roll out
#   6. smoke test through a port-forward: /readyz, then `cra resolve`
#   7. runs the e2e suite against the cluster (e2e/test/kind-cluster.test.ts)
#   8. deletes the cluster unless KEEP_CLUSTER=1
#
# Needs docker, kind, node (scripts/ensure-node.sh), kubectl and helm (from PATH, else the ones
# scripts/build-envtest.sh caches). Settings:
#   KIND_CLUSTER=cra-e2e  IMAGE=ghcr.io/cra-dev/cra:kind-e2e  NAMESPACE=cra-system
#   KIND_NODE_IMAGE=kindest/node:v1.34.0 (optional)  KEEP_CLUSTER=1  SKIP_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

KIND_CLUSTER="${KIND_CLUSTER:-cra-e2e}"
IMAGE="${IMAGE:-ghcr.io/cra-dev/cra:kind-e2e}"
NAMESPACE="${NAMESPACE:-cra-system}"
ATLAS_NAMESPACE="default"
LOCAL_PORT="${LOCAL_PORT:-18080}"
API_KEY="kind-e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

step() { printf '\n\033[1m== kind-e2e: %s\033[0m\n' "$*"; }
die() { echo "kind-e2e: $*" >&2; exit 1; }

node_bin="$(scripts/ensure-node.sh)"
export PATH="$node_bin:$PATH"
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
envtest="${KUBEBUILDER_ASSETS:-$root/.cache/envtest/1.37.2-$(uname -s | tr '[:upper:]' '[:lower:]')-$arch}"
KUBECTL="$(command -v kubectl || true)"; [ -n "$KUBECTL" ] || KUBECTL="$envtest/kubectl"
HELM="$(command -v helm || true)"; [ -n "$HELM" ] || HELM="$envtest/helm"
for tool in docker kind; do command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (https://kind.sigs.k8s.io/docs/user/quick-start/)"; done
[ -x "$KUBECTL" ] || die "kubectl not found on PATH or in $envtest (scripts/build-envtest.sh builds one)"
[ -x "$HELM" ] || die "helm not found on PATH or in $envtest (scripts/build-envtest.sh builds one)"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable"

export KUBECONFIG="$root/.cache/kind-e2e/kubeconfig"
mkdir -p "$(dirname "$KUBECONFIG")"
pf_pid=""
cleanup() {
  [ -n "$pf_pid" ] && kill "$pf_pid" 2>/dev/null || true
  if [ "${KEEP_CLUSTER:-}" = "1" ]; then
    echo "kind-e2e: keeping cluster $KIND_CLUSTER (KUBECONFIG=$KUBECONFIG); delete with: kind delete cluster --name $KIND_CLUSTER"
  else
    kind delete cluster --name "$KIND_CLUSTER" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-}" != "1" ]; then
  step "docker build -t $IMAGE"
  docker build -t "$IMAGE" .
fi

step "kind cluster $KIND_CLUSTER"
if ! kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
  kind create cluster --name "$KIND_CLUSTER" --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
fi
kind export kubeconfig --name "$KIND_CLUSTER" --kubeconfig "$KUBECONFIG"
kind load docker-image "$IMAGE" --name "$KIND_CLUSTER"

step "helm upgrade --install cra charts/cra"
repo="${IMAGE%:*}"; tag="${IMAGE##*:}"
"$HELM" upgrade --install cra charts/cra \
  --namespace "$NAMESPACE" --create-namespace \
  --set "operator.image.repository=$repo,operator.image.tag=$tag,operator.image.pullPolicy=Never" \
  --set "runtime.image.repository=$repo,runtime.image.tag=$tag,runtime.image.pullPolicy=Never" \
  --set "operator.logLevel=debug" \
  --wait --timeout 5m
"$KUBECTL" -n "$NAMESPACE" rollout status deployment/cra-operator --timeout=180s

step "reference atlases and an agent identity"
for f in atlases/*/resource.yaml; do
  "$KUBECTL" apply --server-side --field-manager=kind-e2e -n "$ATLAS_NAMESPACE" -f "$f"
done
digest="$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)"
"$KUBECTL" -n "$ATLAS_NAMESPACE" create secret generic kind-e2e-agent --from-literal=digest="$digest" \
  --dry-run=client -o yaml | "$KUBECTL" apply --server-side --field-manager=kind-e2e -f -
"$KUBECTL" apply --server-side --field-manager=kind-e2e -f - <<EOF
apiVersion: cra.dev/v1alpha1
kind: AgentIdentity
metadata:
  name: kind-e2e-agent
  namespace: $ATLAS_NAMESPACE
spec:
  agentId: kind-e2e-agent
  roles: [agent]
  auth:
    apiKeySecretRef: { name: kind-e2e-agent, key: digest }
EOF
"$KUBECTL" -n "$ATLAS_NAMESPACE" wait atlas --all --for=condition=Ready --timeout=180s
"$KUBECTL" -n "$ATLAS_NAMESPACE" wait agentidentity/kind-e2e-agent --for=condition=Ready --timeout=180s
"$KUBECTL" get cra -A

step "runtime rollout"
# The operator creates the runtime Deployment; it is ready once it serves the first bundle.
for _ in $(seq 1 60); do
  "$KUBECTL" -n "$NAMESPACE" get deployment/cra-runtime >/dev/null 2>&1 && break
  sleep 2
done
"$KUBECTL" -n "$NAMESPACE" rollout status deployment/cra-runtime --timeout=300s

step "smoke test through a port-forward"
"$KUBECTL" -n "$NAMESPACE" port-forward service/cra-runtime "$LOCAL_PORT:8080" >/dev/null 2>&1 &
pf_pid=$!
for _ in $(seq 1 30); do curl -fsS "http://127.0.0.1:$LOCAL_PORT/readyz" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "http://127.0.0.1:$LOCAL_PORT/readyz"; echo
CRA_URL="http://127.0.0.1:$LOCAL_PORT" CRA_API_KEY="$API_KEY" \
  node runtime/bin/cra.js resolve "Open an issue about the login crash" --agent kind-e2e-agent --risk low -o table

step "e2e suite against the cluster"
CRA_KIND_E2E=1 CRA_NAMESPACE="$NAMESPACE" CRA_ATLAS_NAMESPACE="$ATLAS_NAMESPACE" \
  CRA_URL="http://127.0.0.1:$LOCAL_PORT" CRA_API_KEY="$API_KEY" \
  npx vitest run e2e/test/kind-cluster.test.ts

step "done"
