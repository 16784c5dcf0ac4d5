#!/usr/bin/env bash
# A self-signed certificate for the local overlay's HTTPS Ingress (k8s/overlays/local/ingress.yaml),
# stored as the TLS Secret rtc/rtc-tls. Browsers warn once about it; after that /app is a secure
# context and getUserMedia works. Run again to renew; the kubectl context must point at the local
# cluster.
#
#   scripts/local-tls.sh [--dry-run] [HOST]        (HOST: rtc.localtest.me, which is 127.0.0.1)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/commands.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/commands.sh"

usage() { echo "usage: $0 [--dry-run] [HOST]" >&2; exit 2; }

DRY_RUN=0
HOST=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $arg" >&2; usage ;;
    *) [ -z "$HOST" ] || usage; HOST="$arg" ;;
  esac
done
HOST="${HOST:-rtc.localtest.me}"
[[ "$HOST" =~ ^[A-Za-z0-9.-]+$ ]] || { echo "local-tls: not a host name: $HOST" >&2; exit 2; }

cd "$(dirname "$0")/.."
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

run openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" \
  -keyout "$workdir/tls.key" -out "$workdir/tls.crt"
run kubectl apply -f k8s/base/namespace.yaml
# Rendered, then applied, so a second run replaces the certificate.
secret_cmd=(kubectl --namespace rtc create secret tls rtc-tls --cert "$workdir/tls.crt" --key "$workdir/tls.key" --dry-run=client -o yaml)
show "${secret_cmd[@]}"
if [ "$DRY_RUN" -eq 0 ]; then "${secret_cmd[@]}" > "$workdir/secret.yaml"; fi
run kubectl apply -f "$workdir/secret.yaml"
if [ "$DRY_RUN" -eq 0 ]; then
  echo "local-tls: Secret rtc/rtc-tls for $HOST, SHA-256 fingerprint:"
  openssl x509 -in "$workdir/tls.crt" -noout -fingerprint -sha256
fi
echo "local-tls: next: kubectl apply -k k8s/overlays/local, then https://$HOST/app"
