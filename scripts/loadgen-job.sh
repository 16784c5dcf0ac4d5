#!/usr/bin/env bash
# Runs the load generator Job (k8s/loadgen) in the cluster with the image the media Deployment
# runs, the one scripts/deploy.sh pushed: `kubectl apply -k k8s/loadgen` alone names no registry,
# so its pod could never pull the image. A Job is immutable: the previous one is deleted first.
#
#   scripts/loadgen-job.sh [--dry-run]
#
# Settings (environment): NAMESPACE (rtc). Read the result with `kubectl -n rtc logs job/rtc-loadgen`.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/commands.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/commands.sh"
cd "$(dirname "$0")/.."

DRY_RUN=0
[ "${1:-}" = --dry-run ] && DRY_RUN=1
NAMESPACE="${NAMESPACE:-rtc}"

image="$(query kubectl --namespace "$NAMESPACE" get deployment gpu-media -o 'jsonpath={.spec.template.spec.containers[?(@.name=="media")].image}')"
if [ "$DRY_RUN" -eq 1 ] && [ -z "$image" ]; then image=REGION-docker.pkg.dev/PROJECT/rtc/rtc-gpu-app:TAG; fi
[ -n "$image" ] || { echo "loadgen-job: no Deployment gpu-media in namespace $NAMESPACE: run scripts/deploy.sh first" >&2; exit 1; }

# name[:tag][@digest] -> kustomize's newName / newTag / digest.
name="${image%@*}"
digest=""
[ "$name" = "$image" ] || digest="${image#*@}"
tag=""
last="${name##*/}"
if [[ "$last" == *:* ]]; then tag="${last##*:}"; name="${name%:*}"; fi

# kustomize refuses absolute paths, and a root inside the one it includes: the temporary
# kustomization lives beside k8s/loadgen (k8s/.gitignore).
dir="$(mktemp -d "k8s/.loadgen-run-XXXXXX")"
trap 'rm -rf "$dir"' EXIT
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - ../loadgen"
  echo "images:"
  echo "  - name: rtc-gpu-app"
  echo "    newName: $name"
  [ -z "$tag" ] || echo "    newTag: \"$tag\""
  [ -z "$digest" ] || echo "    digest: $digest"
} > "$dir/kustomization.yaml"
[ "$DRY_RUN" -eq 0 ] || sed 's/^/    /' "$dir/kustomization.yaml"
run kubectl --namespace "$NAMESPACE" delete job rtc-loadgen --ignore-not-found
run kubectl apply -k "$dir"
echo "loadgen-job: rtc-loadgen started with $image; follow it with: kubectl -n $NAMESPACE logs -f job/rtc-loadgen"
