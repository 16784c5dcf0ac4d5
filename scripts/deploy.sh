#!/usr/bin/env bash
# Builds and pushes the image, installs the monitoring stack and prometheus-adapter, applies the
# gke overlay with that image, publishes the TURN relay's address, and waits for the rollout.
# Idempotent: helm upgrade --install, kubectl apply, the TURN secret only created when missing.
#
#   scripts/deploy.sh [--dry-run] [--tag TAG] [--skip-build] PROJECT_ID
#
# Settings (environment): REGION (us-central1), ZONE (us-central1-a), CLUSTER (rtc-scale),
# REPOSITORY (rtc), OVERLAY (gke), ROLLOUT_TIMEOUT (15m), LB_WAIT_S (300).
# Needs gcloud, docker, kubectl and helm; the cluster from scripts/gke-setup.sh.
# --dry-run prints every command and runs none; lookups then count as "not found".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/commands.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/commands.sh"

usage() { echo "usage: $0 [--dry-run] [--tag TAG] [--skip-build] PROJECT_ID" >&2; exit 2; }

DRY_RUN=0
SKIP_BUILD=0
TAG=""
PROJECT_ID=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --tag) [ $# -ge 2 ] || usage; TAG="$2"; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) [ -z "$PROJECT_ID" ] || usage; PROJECT_ID="$1" ;;
  esac
  shift
done
[ -n "$PROJECT_ID" ] || usage

cd "$(dirname "$0")/.."

REGION="${REGION:-us-central1}"
ZONE="${ZONE:-us-central1-a}"
CLUSTER="${CLUSTER:-rtc-scale}"
REPOSITORY="${REPOSITORY:-rtc}"
OVERLAY="${OVERLAY:-gke}"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-15m}"
LB_WAIT_S="${LB_WAIT_S:-300}"
NAMESPACE=rtc
if [ -z "$TAG" ]; then
  TAG="$(git rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)"
fi
REGISTRY="$REGION-docker.pkg.dev"
IMAGE_NAME="$REGISTRY/$PROJECT_ID/$REPOSITORY/rtc-gpu-app"
IMAGE="$IMAGE_NAME:$TAG"

# A lookup whose output is used; prints nothing in --dry-run.
query() {
  show "$@" >&2
  [ "$DRY_RUN" -eq 1 ] || "$@" 2>/dev/null || true
}

workdir="$(mktemp -d)"
overlay_dir=""
cleanup() {
  rm -rf "$workdir"
  if [ -n "$overlay_dir" ]; then rm -rf "$overlay_dir"; fi
}
trap cleanup EXIT

# 1. Image
if [ "$SKIP_BUILD" -eq 0 ]; then
  run gcloud auth configure-docker "$REGISTRY" --quiet
  run docker build -t "$IMAGE" .
  run docker push "$IMAGE"
fi

# 2. Cluster credentials
run gcloud container clusters get-credentials "$CLUSTER" --zone "$ZONE" --project "$PROJECT_ID"

# 3. Monitoring stack (Prometheus Operator CRDs, Prometheus, Grafana) and prometheus-adapter.
#    The release name matters: monitoring/k8s labels its objects release=kube-prometheus-stack, and
#    k8s/prometheus-adapter/values.yaml points at kube-prometheus-stack-prometheus.monitoring.svc.
run helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update
run helm repo update prometheus-community
run helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack \
  --namespace monitoring --create-namespace --wait --timeout 10m
run helm upgrade --install prometheus-adapter prometheus-community/prometheus-adapter \
  --namespace monitoring --values k8s/prometheus-adapter/values.yaml --wait --timeout 5m

# 4. Namespace, the TURN shared secret and the API token (generated once, never printed, kept
#    across deploys).
run kubectl apply -f k8s/base/namespace.yaml
if exists kubectl --namespace "$NAMESPACE" get secret turn-shared-secret; then
  echo "secret turn-shared-secret exists"
else
  secret_file="$workdir/turn-secret"
  if [ "$DRY_RUN" -eq 0 ]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n' > "$secret_file")
  fi
  run kubectl --namespace "$NAMESPACE" create secret generic turn-shared-secret --from-file=secret="$secret_file"
fi
# The API token and JWT secret the server requires (RTC_AUTH_TOKENS, RTC_AUTH_JWT_SECRET), likewise
# generated once. Read the token with:
#   kubectl -n rtc get secret rtc-auth -o jsonpath='{.data.tokens}' | base64 -d
if exists kubectl --namespace "$NAMESPACE" get secret rtc-auth; then
  echo "secret rtc-auth exists"
else
  token_file="$workdir/rtc-auth-token"
  jwt_file="$workdir/rtc-auth-jwt"
  if [ "$DRY_RUN" -eq 0 ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '\n/+=' > "$token_file")
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' > "$jwt_file")
  fi
  run kubectl --namespace "$NAMESPACE" create secret generic rtc-auth \
    --from-file=tokens="$token_file" --from-file=jwt-secret="$jwt_file"
fi

# 5. The overlay with this image. kustomize refuses absolute paths, so the temporary overlay
#    lives beside the others (k8s/.gitignore ignores it) and is removed on exit.
overlay_dir="$(mktemp -d "k8s/overlays/.deploy-XXXXXX")"
cat > "$overlay_dir/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../$OVERLAY
images:
  - name: rtc-gpu-app
    newName: $IMAGE_NAME
    newTag: "$TAG"
YAML
[ "$DRY_RUN" -eq 0 ] || sed 's/^/    /' "$overlay_dir/kustomization.yaml"
run kubectl apply -k "$overlay_dir"

# 6. Publish the TURN relay's public address to coturn (external-ip) and the media server
#    (RTC_TURN_URLS); restart both only when it changed, since env from a ConfigMap is read at start.
lb_ip=""
if [ "$DRY_RUN" -eq 0 ]; then
  waited=0
  while :; do
    lb_ip="$(kubectl --namespace "$NAMESPACE" get service coturn -o 'jsonpath={.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)"
    [ -n "$lb_ip" ] && break
    if [ "$waited" -ge "$LB_WAIT_S" ]; then
      echo "deploy: the coturn load balancer has no IP after ${LB_WAIT_S}s; rerun later to publish it" >&2
      break
    fi
    sleep 5
    waited=$((waited + 5))
  done
  echo "+ kubectl --namespace $NAMESPACE get service coturn -o jsonpath={.status.loadBalancer.ingress[0].ip} -> ${lb_ip:-none}"
else
  echo "+ kubectl --namespace $NAMESPACE get service coturn -o jsonpath={.status.loadBalancer.ingress[0].ip}  # until it has an IP"
  lb_ip="TURN_IP"
fi
if [ -n "$lb_ip" ]; then
  current="$(query kubectl --namespace "$NAMESPACE" get configmap turn-public -o 'jsonpath={.data.TURN_EXTERNAL_IP}')"
  turn_cm="$workdir/turn-public.yaml"
  cat > "$turn_cm" <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: turn-public
  namespace: $NAMESPACE
  labels:
    app.kubernetes.io/name: rtc-scale
data:
  TURN_EXTERNAL_IP: "$lb_ip"
  RTC_TURN_URLS: "turn:$lb_ip:3478?transport=udp"
YAML
  run kubectl apply -f "$turn_cm"
  if [ "$current" != "$lb_ip" ]; then
    run kubectl --namespace "$NAMESPACE" rollout restart deployment/coturn deployment/gpu-media
  fi
fi

# 7. Wait for the rollout.
run kubectl --namespace "$NAMESPACE" rollout status deployment/coturn --timeout "$ROLLOUT_TIMEOUT"
run kubectl --namespace "$NAMESPACE" rollout status deployment/gpu-media --timeout "$ROLLOUT_TIMEOUT"
signal_ip="$(query kubectl --namespace "$NAMESPACE" get service gpu-media -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')"
echo "deploy: $IMAGE is live; signalling at http://${signal_ip:-<pending>}/app, TURN at ${lb_ip:-<pending>}:3478/udp"
