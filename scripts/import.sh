#!/usr/bin/env bash
# Regenerates imports/ with `cdk8s import`: Istio's CRDs from the pinned Istio Go module, the
# Gateway API CRDs at the version that module requires (the same files the test control plane
# installs), and cert-manager's CRDs from imports/crds/cert-manager/.
# Usage: scripts/import.sh [output dir]   (default: imports/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/imports}"
export PATH="$root/node_modules/.bin:$PATH"

bin=$(bash "$root/test/harness/provision.sh" istio-crds gateway-api-crds | tail -n1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One input file per API group, so each group becomes one module.
cat "$root"/imports/crds/cert-manager/*.yaml >"$work/cert-manager.yaml"
(cd "$work" && cdk8s import --no-check-upgrade --language typescript --output gen "$bin/istio-crds.yaml" >/dev/null)
(cd "$work" && cdk8s import --no-check-upgrade --language typescript --output gen "$bin/gateway-api-crds.yaml" >/dev/null)
(cd "$work" && cdk8s import --no-check-upgrade --language typescript --output gen "$work/cert-manager.yaml" >/dev/null)

mkdir -p "$out"
rm -f "$out"/*.ts
cp "$work"/gen/*.ts "$out"/
echo "imports written to $out: $(cd "$out" && ls ./*.ts | tr '\n' ' ')"
