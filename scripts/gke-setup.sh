#!/usr/bin/env bash
# Creates (or brings up to date) the GKE cluster rtc-scale runs on: a small default pool for the
# system pods, monitoring and coturn, and an autoscaled GPU node pool for the media pods, with the
# NVIDIA driver installed by GKE. Idempotent: each resource is described first and only created
# when missing; the GPU pool's autoscaling limits are updated when it exists.
#
#   scripts/gke-setup.sh [--dry-run] PROJECT_ID
#
# Settings (environment): REGION (us-central1), ZONE (us-central1-a), CLUSTER (rtc-scale),
# SYSTEM_MACHINE_TYPE (e2-standard-4), SYSTEM_NODES (2), GPU_POOL (gpu-pool),
# GPU_MACHINE_TYPE (g2-standard-8), GPU_TYPE (nvidia-l4), GPU_COUNT (1),
# GPU_DRIVER_VERSION (latest: GKE installs the driver; "disabled" to install it yourself),
# GPU_MIN_NODES (0), GPU_MAX_NODES (10), REPOSITORY (rtc, Artifact Registry), RELEASE_CHANNEL (regular).
# --dry-run prints every command and runs none; lookups then count as "not found", so the output
# is the full sequence for a new project.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/commands.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/commands.sh"

usage() { echo "usage: $0 [--dry-run] PROJECT_ID" >&2; exit 2; }

DRY_RUN=0
PROJECT_ID=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $arg" >&2; usage ;;
    *) [ -z "$PROJECT_ID" ] || usage; PROJECT_ID="$arg" ;;
  esac
done
[ -n "$PROJECT_ID" ] || usage

REGION="${REGION:-us-central1}"
ZONE="${ZONE:-us-central1-a}"
CLUSTER="${CLUSTER:-rtc-scale}"
SYSTEM_MACHINE_TYPE="${SYSTEM_MACHINE_TYPE:-e2-standard-4}"
SYSTEM_NODES="${SYSTEM_NODES:-2}"
GPU_POOL="${GPU_POOL:-gpu-pool}"
GPU_MACHINE_TYPE="${GPU_MACHINE_TYPE:-g2-standard-8}"
GPU_TYPE="${GPU_TYPE:-nvidia-l4}"
GPU_COUNT="${GPU_COUNT:-1}"
GPU_DRIVER_VERSION="${GPU_DRIVER_VERSION:-latest}"
GPU_MIN_NODES="${GPU_MIN_NODES:-0}"
GPU_MAX_NODES="${GPU_MAX_NODES:-10}"
REPOSITORY="${REPOSITORY:-rtc}"
RELEASE_CHANNEL="${RELEASE_CHANNEL:-regular}"


G=(--project "$PROJECT_ID")

run gcloud services enable container.googleapis.com artifactregistry.googleapis.com "${G[@]}"

if exists gcloud container clusters describe "$CLUSTER" --zone "$ZONE" "${G[@]}"; then
  echo "cluster $CLUSTER exists"
else
  # VPC-native (alias IPs): pod IPs are routable in the VPC, which coturn relays to.
  # Dataplane V2 enforces the NetworkPolicies (including port ranges, endPort).
  run gcloud container clusters create "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --release-channel "$RELEASE_CHANNEL" \
    --machine-type "$SYSTEM_MACHINE_TYPE" --num-nodes "$SYSTEM_NODES" \
    --enable-ip-alias --enable-dataplane-v2 \
    --workload-pool "$PROJECT_ID.svc.id.goog"
fi

accelerator="type=$GPU_TYPE,count=$GPU_COUNT"
[ "$GPU_DRIVER_VERSION" = "disabled" ] || accelerator="$accelerator,gpu-driver-version=$GPU_DRIVER_VERSION"

if exists gcloud container node-pools describe "$GPU_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}"; then
  # The only setting that can change in place; machine and accelerator types need a new pool.
  run gcloud container node-pools update "$GPU_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --enable-autoscaling --min-nodes "$GPU_MIN_NODES" --max-nodes "$GPU_MAX_NODES"
else
  # GKE taints GPU nodes nvidia.com/gpu=present:NoSchedule and labels them
  # cloud.google.com/gke-accelerator=$GPU_TYPE, which the gke overlay selects and tolerates.
  run gcloud container node-pools create "$GPU_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --machine-type "$GPU_MACHINE_TYPE" \
    --accelerator "$accelerator" \
    --num-nodes 1 \
    --enable-autoscaling --min-nodes "$GPU_MIN_NODES" --max-nodes "$GPU_MAX_NODES" \
    --node-labels "rtc-scale/pool=gpu"
fi

if exists gcloud artifacts repositories describe "$REPOSITORY" --location "$REGION" "${G[@]}"; then
  echo "repository $REPOSITORY exists"
else
  run gcloud artifacts repositories create "$REPOSITORY" --location "$REGION" "${G[@]}" \
    --repository-format docker --description "rtc-scale images"
fi

run gcloud container clusters get-credentials "$CLUSTER" --zone "$ZONE" "${G[@]}"

if [ "$GPU_DRIVER_VERSION" = "disabled" ]; then
  # Without gpu-driver-version, GKE's driver installer DaemonSet installs the driver (COS nodes).
  run kubectl apply -f https://raw.githubusercontent.com/GoogleCloudPlatform/container-engine-accelerators/master/nvidia-driver-installer/cos/daemonset-preloaded-latest.yaml
fi

echo "gke-setup: done. Next: scripts/deploy.sh $PROJECT_ID"
