#!/usr/bin/env bash
# Builds and pushes the image, installs one monitoring path with its custom-metrics adapter,
# applies a GKE overlay with that image, the HTTPS domain and the TURN address, and waits for the
# rollout. Idempotent: helm upgrade --install, kubectl apply, secrets only created when missing.
#
#   scripts/deploy.sh [--dry-run] [--tag TAG] [--skip-build] PROJECT_ID
#
# OVERLAY chooses the monitoring path (scripts/gke-setup.sh MONITORING must match):
#   gke          kube-prometheus-stack + prometheus-adapter (pinned Helm charts) + the DCGM exporter
#   gke-managed  Google Managed Prometheus + managed DCGM + custom-metrics-stackdriver-adapter
# Never both adapters in one cluster: the script refuses when the other one serves
# custom.metrics.k8s.io.
#
# Settings (environment): REGION (us-central1), ZONE (us-central1-a), CLUSTER (rtc-scale),
# REPOSITORY (rtc), OVERLAY (gke), ROLLOUT_TIMEOUT (15m), SIGNAL_ADDRESS (rtc-signalling),
# TURN_ADDRESS (rtc-turn), DOMAIN (the signalling host name; default <ip>.sslip.io of the
# signalling address), TURN_DOMAIN (default <ip>.sslip.io of the TURN address), TURN_TLS_CERT and
# TURN_TLS_KEY (PEM files for TURN_DOMAIN; default a self-signed certificate),
# KUBE_PROMETHEUS_STACK_VERSION, PROMETHEUS_ADAPTER_VERSION, STACKDRIVER_ADAPTER_COMMIT (pins),
# WARM_GPU_NODES (0: GPU nodes kept free by placeholder pods, k8s/components/gpu-warm-nodes).
# The image tag defaults to the commit, with -dirty-<hash> when the tree has changes.
# Needs gcloud, docker, kubectl, helm (gke) and openssl; the cluster from scripts/gke-setup.sh.
# --dry-run prints every command and runs none; lookups then count as "not found".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/commands.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/commands.sh"
# shellcheck source-path=SCRIPTDIR source=lib/image-tag.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/image-tag.sh"

usage() { echo "usage: $0 [--dry-run] [--tag TAG] [--skip-build] PROJECT_ID" >&2; exit 2; }
die() { echo "deploy: $*" >&2; exit 1; }

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
SIGNAL_ADDRESS="${SIGNAL_ADDRESS:-rtc-signalling}"
TURN_ADDRESS="${TURN_ADDRESS:-rtc-turn}"
# Chart and manifest pins: bump deliberately, after reading the release notes.
KUBE_PROMETHEUS_STACK_VERSION="${KUBE_PROMETHEUS_STACK_VERSION:-85.1.2}"
PROMETHEUS_ADAPTER_VERSION="${PROMETHEUS_ADAPTER_VERSION:-4.10.0}"
STACKDRIVER_ADAPTER_COMMIT="${STACKDRIVER_ADAPTER_COMMIT:-0857364d151373fb985599f4ddee6504166de939}"
STACKDRIVER_ADAPTER_URL="https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-stackdriver/$STACKDRIVER_ADAPTER_COMMIT/custom-metrics-stackdriver-adapter/deploy/production/adapter_new_resource_model.yaml"
WARM_GPU_NODES="${WARM_GPU_NODES:-0}"
NAMESPACE=rtc

[[ "$WARM_GPU_NODES" =~ ^[0-9]+$ ]] || die "WARM_GPU_NODES must be a number, got $WARM_GPU_NODES"
case "$OVERLAY" in
  gke|gke-managed) ;;
  *) die "OVERLAY must be gke or gke-managed, got $OVERLAY (k8s/overlays/local is applied by hand)" ;;
esac

[ -n "$TAG" ] || TAG="$(image_tag)"
REGISTRY="$REGION-docker.pkg.dev"
IMAGE_NAME="$REGISTRY/$PROJECT_ID/$REPOSITORY/rtc-gpu-app"
IMAGE="$IMAGE_NAME:$TAG"

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

# 3. Monitoring and the custom-metrics adapter the HPA reads: one path, never both adapters.
metrics_api_ns="$(query kubectl get apiservice v1beta1.custom.metrics.k8s.io -o 'jsonpath={.spec.service.namespace}')"
if [ "$OVERLAY" = gke ]; then
  [ "$metrics_api_ns" != custom-metrics ] || die "custom.metrics.k8s.io is served by the custom-metrics-stackdriver-adapter (overlay gke-managed); delete it (kubectl delete -f $STACKDRIVER_ADAPTER_URL) before OVERLAY=gke"
  # The release name matters: monitoring/k8s labels its objects release=kube-prometheus-stack, and
  # k8s/prometheus-adapter/values.yaml points at kube-prometheus-stack-prometheus.monitoring.svc.
  run helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update
  run helm repo update prometheus-community
  run helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack \
    --version "$KUBE_PROMETHEUS_STACK_VERSION" \
    --namespace monitoring --create-namespace --values k8s/kube-prometheus-stack/values-gke.yaml --wait --timeout 10m
  run helm upgrade --install prometheus-adapter prometheus-community/prometheus-adapter \
    --version "$PROMETHEUS_ADAPTER_VERSION" \
    --namespace monitoring --values k8s/prometheus-adapter/values.yaml --wait --timeout 5m
else
  [ "$metrics_api_ns" != monitoring ] || die "custom.metrics.k8s.io is served by prometheus-adapter (overlay gke); run helm uninstall prometheus-adapter --namespace monitoring before OVERLAY=gke-managed"
  # Google's adapter reads Cloud Monitoring with its Kubernetes service account (Workload Identity).
  project_number="$(query gcloud projects describe "$PROJECT_ID" --format 'value(projectNumber)')"
  [ "$DRY_RUN" -eq 0 ] || project_number=PROJECT_NUMBER
  [ -n "$project_number" ] || die "cannot read the project number of $PROJECT_ID"
  run gcloud projects add-iam-policy-binding "$PROJECT_ID" --role roles/monitoring.viewer --condition None \
    --member "principal://iam.googleapis.com/projects/$project_number/locations/global/workloadIdentityPools/$PROJECT_ID.svc.id.goog/subject/ns/custom-metrics/sa/custom-metrics-stackdriver-adapter"
  run kubectl apply -f "$STACKDRIVER_ADAPTER_URL"
fi

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

# The secret the media replicas share (RTC_CLUSTER_SECRET): it authenticates the pod that session
# ids name as their owner, so any replica can forward a request to the one holding the session
# and no client can point a forward elsewhere. Generated once, never printed.
if exists kubectl --namespace "$NAMESPACE" get secret rtc-cluster; then
  echo "secret rtc-cluster exists"
else
  cluster_file="$workdir/rtc-cluster-secret"
  if [ "$DRY_RUN" -eq 0 ]; then
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' > "$cluster_file")
  fi
  run kubectl --namespace "$NAMESPACE" create secret generic rtc-cluster --from-file=secret="$cluster_file"
fi

# 5. The static addresses (scripts/gke-setup.sh reserved them) and the names on them.
signal_ip="$(query gcloud compute addresses describe "$SIGNAL_ADDRESS" --global --project "$PROJECT_ID" --format 'value(address)')"
turn_ip="$(query gcloud compute addresses describe "$TURN_ADDRESS" --region "$REGION" --project "$PROJECT_ID" --format 'value(address)')"
if [ "$DRY_RUN" -eq 1 ]; then signal_ip=203.0.113.1; turn_ip=198.51.100.1; fi
[ -n "$signal_ip" ] || die "no static address $SIGNAL_ADDRESS (global): run scripts/gke-setup.sh first"
[ -n "$turn_ip" ] || die "no static address $TURN_ADDRESS ($REGION): run scripts/gke-setup.sh first"
# sslip.io answers <a-b-c-d>.sslip.io with a.b.c.d: a name the managed certificate can be issued
# for without a DNS zone. Set DOMAIN (an A record on the signalling address) for your own.
DOMAIN="${DOMAIN:-${signal_ip//./-}.sslip.io}"
TURN_DOMAIN="${TURN_DOMAIN:-${turn_ip//./-}.sslip.io}"

# 6. TURN over TLS needs a certificate for TURN_DOMAIN (the Google-managed one stays inside the
#    HTTPS load balancer). Yours when given; otherwise a self-signed one once, which browsers may
#    refuse for turns: (TURN over UDP and TCP work regardless).
tls_yaml="$workdir/turn-tls.yaml"
if [ -n "${TURN_TLS_CERT:-}" ] || [ -n "${TURN_TLS_KEY:-}" ]; then
  if [ ! -f "${TURN_TLS_CERT:-}" ] || [ ! -f "${TURN_TLS_KEY:-}" ]; then die "TURN_TLS_CERT and TURN_TLS_KEY must both name PEM files"; fi
  # Rendered, then applied: a renewed certificate replaces the old one.
  tls_cmd=(kubectl --namespace "$NAMESPACE" create secret tls turn-tls --cert "$TURN_TLS_CERT" --key "$TURN_TLS_KEY" --dry-run=client -o yaml)
  show "${tls_cmd[@]}"
  if [ "$DRY_RUN" -eq 0 ]; then "${tls_cmd[@]}" > "$tls_yaml"; fi
  run kubectl apply -f "$tls_yaml"
elif exists kubectl --namespace "$NAMESPACE" get secret turn-tls; then
  echo "secret turn-tls exists"
else
  echo "deploy: no TURN_TLS_CERT/TURN_TLS_KEY: a self-signed certificate for $TURN_DOMAIN (turns: clients may refuse it)" >&2
  run openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$TURN_DOMAIN" -addext "subjectAltName=DNS:$TURN_DOMAIN" \
    -keyout "$workdir/turn.key" -out "$workdir/turn.crt"
  run kubectl --namespace "$NAMESPACE" create secret tls turn-tls --cert "$workdir/turn.crt" --key "$workdir/turn.key"
fi

# 7. The overlay with this image, domain and TURN address. kustomize refuses absolute paths, so
#    the temporary overlay lives beside the others (k8s/.gitignore ignores it) and is removed on
#    exit. The TURN URLs are a generated ConfigMap: when they change, its name changes and the
#    media pods roll.
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
configMapGenerator:
  - name: turn-public
    namespace: $NAMESPACE
    literals:
      - RTC_TURN_URLS=turn:$turn_ip:3478?transport=udp,turn:$turn_ip:3478?transport=tcp,turns:$TURN_DOMAIN:443?transport=tcp
patches:
  - target: {kind: ManagedCertificate, name: gpu-media}
    patch: |-
      - op: replace
        path: /spec/domains
        value: ["$DOMAIN"]
  - target: {kind: Service, name: coturn-udp}
    patch: |-
      - op: add
        path: /spec/loadBalancerIP
        value: "$turn_ip"
  - target: {kind: Service, name: coturn-tcp}
    patch: |-
      - op: add
        path: /spec/loadBalancerIP
        value: "$turn_ip"
YAML
if [ "$WARM_GPU_NODES" -gt 0 ]; then
  cat >> "$overlay_dir/kustomization.yaml" <<YAML
  - target: {kind: Deployment, name: gpu-placeholder}
    patch: |-
      - op: replace
        path: /spec/replicas
        value: $WARM_GPU_NODES
components:
  - ../../components/gpu-warm-nodes
YAML
fi
[ "$DRY_RUN" -eq 0 ] || sed 's/^/    /' "$overlay_dir/kustomization.yaml"
run kubectl apply -k "$overlay_dir"

# 8. Wait for the rollout.
run kubectl --namespace "$NAMESPACE" rollout status deployment/coturn --timeout "$ROLLOUT_TIMEOUT"
run kubectl --namespace "$NAMESPACE" rollout status deployment/gpu-media --timeout "$ROLLOUT_TIMEOUT"
echo "deploy: $IMAGE is live ($OVERLAY); signalling at https://$DOMAIN/app (the managed certificate"
echo "  takes up to an hour the first time: kubectl -n rtc describe managedcertificate gpu-media),"
echo "  TURN at $turn_ip:3478 udp+tcp and turns:$TURN_DOMAIN:443"
