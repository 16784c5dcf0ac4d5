#!/usr/bin/env bash
# Creates (or brings up to date) the GKE cluster rtc-scale runs on: a small default pool for the
# system pods, monitoring and coturn; an autoscaled GPU node pool for the media pods (NVIDIA L4 on
# G2 machines or T4 on N1 machines, driver installed by GKE); an autoscaled pool for the load
# generator Job (0 nodes until it runs); the static IPs of the HTTPS signalling load balancer
# (global) and of the TURN relay (regional); the Artifact Registry repository. Idempotent: each
# resource is described first and only created when missing; the pools' autoscaling limits and the
# cluster's monitoring settings are updated when they exist.
#
#   scripts/gke-setup.sh [--dry-run] PROJECT_ID
#
# Settings (environment): REGION (us-central1), ZONE (us-central1-a), CLUSTER (rtc-scale),
# MONITORING (self-managed: kube-prometheus-stack, overlay gke; managed: Google Managed
# Prometheus and GKE's managed DCGM, overlay gke-managed), SYSTEM_MACHINE_TYPE (e2-standard-4),
# SYSTEM_NODES (2), GPU_POOL (gpu-pool), GPU_TYPE (nvidia-l4 or nvidia-tesla-t4),
# GPU_MACHINE_TYPE (g2-standard-8 for L4, n1-standard-8 for T4), GPU_COUNT (1),
# GPU_DRIVER_VERSION (latest: GKE installs the driver; "disabled" to install it yourself),
# GPU_MIN_NODES (0), GPU_MAX_NODES (10), LOADGEN_POOL (loadgen), LOADGEN_MACHINE_TYPE
# (e2-standard-16), LOADGEN_MAX_NODES (1), SIGNAL_ADDRESS (rtc-signalling), TURN_ADDRESS
# (rtc-turn), REPOSITORY (rtc, Artifact Registry), RELEASE_CHANNEL (regular).
# --dry-run prints every command and runs none; lookups then count as "not found", so the output
# is the full sequence for a new project.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/commands.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/commands.sh"

usage() { echo "usage: $0 [--dry-run] PROJECT_ID" >&2; exit 2; }
die() { echo "gke-setup: $*" >&2; exit 2; }

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
MONITORING="${MONITORING:-self-managed}"
SYSTEM_MACHINE_TYPE="${SYSTEM_MACHINE_TYPE:-e2-standard-4}"
SYSTEM_NODES="${SYSTEM_NODES:-2}"
GPU_POOL="${GPU_POOL:-gpu-pool}"
GPU_TYPE="${GPU_TYPE:-nvidia-l4}"
GPU_COUNT="${GPU_COUNT:-1}"
GPU_DRIVER_VERSION="${GPU_DRIVER_VERSION:-latest}"
GPU_MIN_NODES="${GPU_MIN_NODES:-0}"
GPU_MAX_NODES="${GPU_MAX_NODES:-10}"
LOADGEN_POOL="${LOADGEN_POOL:-loadgen}"
LOADGEN_MACHINE_TYPE="${LOADGEN_MACHINE_TYPE:-e2-standard-16}"
LOADGEN_MAX_NODES="${LOADGEN_MAX_NODES:-1}"
SIGNAL_ADDRESS="${SIGNAL_ADDRESS:-rtc-signalling}"
TURN_ADDRESS="${TURN_ADDRESS:-rtc-turn}"
REPOSITORY="${REPOSITORY:-rtc}"
RELEASE_CHANNEL="${RELEASE_CHANNEL:-regular}"

# Each GPU exists on one machine family only: L4 on G2, T4 on N1 (attached to N1 machines).
case "$GPU_TYPE" in
  nvidia-l4) default_machine=g2-standard-8; family=g2- ;;
  nvidia-tesla-t4) default_machine=n1-standard-8; family=n1- ;;
  *) die "GPU_TYPE $GPU_TYPE is not supported (nvidia-l4 or nvidia-tesla-t4; the gke overlays select these two)" ;;
esac
GPU_MACHINE_TYPE="${GPU_MACHINE_TYPE:-$default_machine}"
case "$GPU_MACHINE_TYPE" in
  "$family"*) ;;
  *) die "GPU_MACHINE_TYPE $GPU_MACHINE_TYPE cannot carry $GPU_TYPE (use a ${family}* machine type, e.g. $default_machine)" ;;
esac

case "$MONITORING" in
  self-managed) monitoring_flags=(--monitoring=SYSTEM --no-enable-managed-prometheus) ;;
  managed)
    # Managed DCGM needs the driver GKE installs.
    [ "$GPU_DRIVER_VERSION" != "disabled" ] || die "MONITORING=managed needs GPU_DRIVER_VERSION other than disabled (GKE's managed DCGM uses GKE's driver)"
    monitoring_flags=("--monitoring=SYSTEM,DCGM" --enable-managed-prometheus) ;;
  *) die "MONITORING must be self-managed or managed, got $MONITORING" ;;
esac

G=(--project "$PROJECT_ID")

run gcloud services enable container.googleapis.com artifactregistry.googleapis.com compute.googleapis.com monitoring.googleapis.com "${G[@]}"

if exists gcloud container clusters describe "$CLUSTER" --zone "$ZONE" "${G[@]}"; then
  echo "cluster $CLUSTER exists"
  # Bring the monitoring setting in line (switching between overlays switches it).
  if [ "$MONITORING" = managed ]; then
    run gcloud container clusters update "$CLUSTER" --zone "$ZONE" "${G[@]}" --enable-managed-prometheus
    run gcloud container clusters update "$CLUSTER" --zone "$ZONE" "${G[@]}" --monitoring=SYSTEM,DCGM
  else
    run gcloud container clusters update "$CLUSTER" --zone "$ZONE" "${G[@]}" --monitoring=SYSTEM
    run gcloud container clusters update "$CLUSTER" --zone "$ZONE" "${G[@]}" --disable-managed-prometheus
  fi
else
  # VPC-native (alias IPs): pod IPs are routable in the VPC, which coturn relays to.
  # Dataplane V2 enforces the NetworkPolicies (including port ranges, endPort).
  # HttpLoadBalancing (on by default) runs the Ingress controller for the HTTPS signalling.
  run gcloud container clusters create "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --release-channel "$RELEASE_CHANNEL" \
    --machine-type "$SYSTEM_MACHINE_TYPE" --num-nodes "$SYSTEM_NODES" \
    --enable-ip-alias --enable-dataplane-v2 \
    --addons HttpLoadBalancing \
    --workload-pool "$PROJECT_ID.svc.id.goog" \
    "${monitoring_flags[@]}"
fi

accelerator="type=$GPU_TYPE,count=$GPU_COUNT"
[ "$GPU_DRIVER_VERSION" = "disabled" ] || accelerator="$accelerator,gpu-driver-version=$GPU_DRIVER_VERSION"

if exists gcloud container node-pools describe "$GPU_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}"; then
  # The only setting that can change in place; machine and accelerator types need a new pool.
  run gcloud container node-pools update "$GPU_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --enable-autoscaling --min-nodes "$GPU_MIN_NODES" --max-nodes "$GPU_MAX_NODES"
else
  # GKE taints GPU nodes nvidia.com/gpu=present:NoSchedule and labels them
  # cloud.google.com/gke-accelerator=$GPU_TYPE, which the gke overlays select and tolerate.
  run gcloud container node-pools create "$GPU_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --machine-type "$GPU_MACHINE_TYPE" \
    --accelerator "$accelerator" \
    --num-nodes 1 \
    --enable-autoscaling --min-nodes "$GPU_MIN_NODES" --max-nodes "$GPU_MAX_NODES" \
    --node-labels "rtc-scale/pool=gpu"
fi

# The load generator Job asks for 8 CPU; this pool has room for it and costs nothing idle.
if exists gcloud container node-pools describe "$LOADGEN_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}"; then
  run gcloud container node-pools update "$LOADGEN_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --enable-autoscaling --min-nodes 0 --max-nodes "$LOADGEN_MAX_NODES"
else
  run gcloud container node-pools create "$LOADGEN_POOL" --cluster "$CLUSTER" --zone "$ZONE" "${G[@]}" \
    --machine-type "$LOADGEN_MACHINE_TYPE" \
    --num-nodes 0 \
    --enable-autoscaling --min-nodes 0 --max-nodes "$LOADGEN_MAX_NODES" \
    --node-labels "rtc-scale/pool=loadgen" \
    --node-taints "rtc-scale/loadgen=true:NoSchedule"
fi

# Static addresses: the HTTPS load balancer's is global (GKE Ingress), TURN's regional (L4).
if exists gcloud compute addresses describe "$SIGNAL_ADDRESS" --global "${G[@]}"; then
  echo "address $SIGNAL_ADDRESS exists"
else
  run gcloud compute addresses create "$SIGNAL_ADDRESS" --global "${G[@]}"
fi
if exists gcloud compute addresses describe "$TURN_ADDRESS" --region "$REGION" "${G[@]}"; then
  echo "address $TURN_ADDRESS exists"
else
  run gcloud compute addresses create "$TURN_ADDRESS" --region "$REGION" "${G[@]}"
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

overlay=gke
[ "$MONITORING" = managed ] && overlay=gke-managed
echo "gke-setup: done. Next: OVERLAY=$overlay scripts/deploy.sh $PROJECT_ID"
