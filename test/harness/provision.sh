#!/usr/bin/env bash
# Provisions the real parts the tests start: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok, istioctl and the oracle (Istio's own config generation; see
# test/harness/oracle.ts), Flagger (benchmarks only, when named: `provision.sh flagger`), built from the Go module proxy through the wrapper modules in
# test/harness/go/, and Prometheus (Debian package). Idempotent: every binary is cached outside
# the repository under $CDK8S_MESH_CACHE (default ~/.cache/cdk8s-mesh), keyed by the part's
# version and a hash of its wrapper go.mod/go.sum and link flags, so a changed pin rebuilds and
# nothing else does.
#
# Usage: test/harness/provision.sh [part ...]   (default: all parts)
# Prints the cache directory's bin path on the last line of stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CDK8S_MESH_CACHE:-$HOME/.cache/cdk8s-mesh}"
gomods="$here/go"

# Pinned versions. The wrapper go.mod files hold the same pins; keep both in step.
K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
# go-containerregistry's crane: pushes the operator image to a loopback registry in its test.
CRANE_VERSION=v0.22.1
# Istio 1.30 release branch, commit 9739e10eb9d7 (2026-08-26): the proxy refuses the 1.30.3 tag's
# own pseudo-version; this commit ships CRDs byte-identical to 1.30.3's crd-all.gen.yaml.
ISTIO_VERSION=v0.0.0-20260826214018-9739e10eb9d7
# Flagger, the side-by-side anchor of `npm run bench -- delivery` only (never built by npm test):
# v1.36.1 is the newest version the Go module proxy serves (it refuses the later tags).
FLAGGER_VERSION=v1.36.1
PROMETHEUS_DEB=prometheus

log() { printf '[provision] %s\n' "$*" >&2; }
fail() {
  printf '[provision] FAILED: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '[provision]   %s\n' "$line" >&2; done
  exit 1
}

command -v go >/dev/null 2>&1 || fail "Go is missing" \
  "the harness builds etcd, Kubernetes, kwok and istioctl from the Go module proxy" \
  "install Go 1.25+ (expected at /usr/local/go/bin) and put it on PATH"
export PATH="$PATH:/usr/local/go/bin"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

# key <wrapper dir> <version> <ldflags>: version plus a short hash of the wrapper's go.mod, go.sum
# and the link flags, so any change to how a part is built rebuilds it.
key() {
  local sum
  sum=$( (cat "$gomods/$1/go.mod" "$gomods/$1/go.sum" && printf '%s' "$3") | sha256sum | cut -c1-12)
  printf '%s-%s-%s' "$1" "$2" "$sum"
}

# build <wrapper> <version> <ldflags> <name=package>...
build() {
  local wrapper=$1 version=$2 ldflags=$3
  shift 3
  local dir="$cache/$(key "$wrapper" "$version" "$ldflags")"
  if [ -f "$dir/.complete" ]; then
    log "$wrapper $version: cached in $dir"
  else
    mkdir -p "$dir"
    local logf="$dir/build.log"
    : >"$logf"
    local start=$SECONDS
    for spec in "$@"; do
      local name=${spec%%=*} pkg=${spec#*=}
      log "$wrapper $version: building $name (log: $logf)"
      # A package written `test:<dir>` is a test binary (`go test -c`), for code that needs a
      # *testing.T (the oracle: Istio's fake discovery server).
      local gocmd=(go build)
      if [[ $pkg == test:* ]]; then
        gocmd=(go test -c)
        pkg=${pkg#test:}
      fi
      if ! (cd "$gomods/$wrapper" && "${gocmd[@]}" -trimpath -ldflags "$ldflags" -o "$dir/$name.tmp" "$pkg") >>"$logf" 2>&1; then
        mapfile -t tail < <(tail -n 15 "$logf")
        fail "building $name from $wrapper ($version)" "command: go build -trimpath -o $name $pkg (in $gomods/$wrapper)" \
          "--- last lines of $logf ---" "${tail[@]}" \
          "what to do: check the Go module proxy is reachable and the pin in $gomods/$wrapper/go.mod exists"
      fi
      mv "$dir/$name.tmp" "$dir/$name"
    done
    touch "$dir/.complete"
    log "$wrapper $version: built in $((SECONDS - start)) s"
    # Drop builds of this part made with other pins or flags.
    for old in "$cache/$wrapper"-*; do
      [ "$old" = "$dir" ] || rm -rf "$old"
    done
  fi
  mkdir -p "$cache/bin"
  for spec in "$@"; do ln -sfn "$dir/${spec%%=*}" "$cache/bin/${spec%%=*}"; done
}

k8s_ldflags() {
  local v=${K8S_VERSION#v} maj min
  maj=${v%%.*}
  min=${v#*.}
  min=${min%%.*}
  local out="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$maj -X $p.gitMinor=$min -X $p.gitTreeState=clean"
    out+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$out"
}

# apt_install <command> <package>: installs a Debian package when its command is missing.
apt_install() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || fail "$cmd is missing and apt-get is not available" \
    "install the Debian package '$pkg' (or put $cmd on PATH)"
  log "$cmd: installing Debian package '$pkg' with apt-get"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  local logf="$cache/apt-$pkg.log"
  mkdir -p "$cache"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$pkg"; } >"$logf" 2>&1; then
    mapfile -t tail < <(tail -n 15 "$logf")
    fail "apt-get install $pkg" "--- last lines of $logf ---" "${tail[@]}"
  fi
}

provision_prometheus() {
  if ! command -v prometheus >/dev/null 2>&1; then
    apt_install prometheus "$PROMETHEUS_DEB"
    # The Debian package starts system services; the tests run their own instance.
    (systemctl stop prometheus prometheus-node-exporter || service prometheus stop || true) >/dev/null 2>&1
    pkill -x prometheus 2>/dev/null || true
    pkill -f prometheus-node-exporter 2>/dev/null || true
  fi
  log "prometheus: $(prometheus --version 2>&1 | head -n1)"
  mkdir -p "$cache/bin"
  ln -sfn "$(command -v prometheus)" "$cache/bin/prometheus"
}

# The Istio CRDs (for the test control plane and `npm run import`) come from the pinned Istio
# module itself: downloading its source is enough, no build needed.
istio_crds() {
  local dir
  dir=$(cd "$gomods/istioctl" && go mod download -json "istio.io/istio@$ISTIO_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  [ -f "$dir/manifests/charts/base/files/crd-all.gen.yaml" ] || fail "Istio CRDs not found in istio.io/istio@$ISTIO_VERSION" \
    "expected $dir/manifests/charts/base/files/crd-all.gen.yaml" "what to do: check the Go module proxy serves that version"
  mkdir -p "$cache/bin"
  install -m 0644 "$dir/manifests/charts/base/files/crd-all.gen.yaml" "$cache/bin/istio-crds.yaml"
  log "istio CRDs: $cache/bin/istio-crds.yaml (istio.io/istio@$ISTIO_VERSION)"
}

# The Gateway API CRDs (standard channel) at the version the pinned Istio module's own go.mod
# requires (Istio 1.30: v1.5.x), taken from the sigs.k8s.io/gateway-api module's config/crd/.
# One file, one `---` per CRD, for the test control plane and `npm run import`.
gateway_api_crds() {
  local idir version gdir
  idir=$(cd "$gomods/istioctl" && go mod download -json "istio.io/istio@$ISTIO_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  version=$(awk '$1 == "sigs.k8s.io/gateway-api" { print $2; exit }' "$idir/go.mod")
  [ -n "$version" ] || fail "istio.io/istio@$ISTIO_VERSION's go.mod names no sigs.k8s.io/gateway-api version" \
    "expected a require line in $idir/go.mod" "what to do: check the Istio pin"
  gdir=$(cd "$gomods/istioctl" && go mod download -json "sigs.k8s.io/gateway-api@$version" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  local std="$gdir/config/crd/standard"
  compgen -G "$std/gateway.networking.k8s.io_*.yaml" >/dev/null || fail "Gateway API CRDs not found in sigs.k8s.io/gateway-api@$version" \
    "expected $std/gateway.networking.k8s.io_*.yaml" "what to do: check the Go module proxy serves that version"
  mkdir -p "$cache/bin"
  for f in "$std"/gateway.networking.k8s.io_*.yaml; do
    grep -q '^kind: CustomResourceDefinition' "$f" || continue
    echo "---"
    cat "$f"
  done >"$cache/bin/gateway-api-crds.yaml.tmp"
  mv "$cache/bin/gateway-api-crds.yaml.tmp" "$cache/bin/gateway-api-crds.yaml"
  log "Gateway API CRDs: $cache/bin/gateway-api-crds.yaml (sigs.k8s.io/gateway-api@$version, standard channel)"
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(tools etcd kubernetes kwok istioctl oracle prometheus crane chromium)
for part in "${parts[@]}"; do
  case "$part" in
    etcd) build etcd "$ETCD_VERSION" "-s -w" "etcd=go.etcd.io/etcd/server/v3" ;;
    kubernetes)
      build kubernetes "$K8S_VERSION" "$(k8s_ldflags)" \
        kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
        kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
        kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
      ;;
    kwok)
      build kwok "$KWOK_VERSION" "-s -w" "kwok=sigs.k8s.io/kwok/cmd/kwok"
      # kwok needs Stage definitions: node init + lease heartbeat + fast pod lifecycle, from its module.
      kdir=$(cd "$gomods/kwok" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
      for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
        [ -f "$kdir/kustomize/stage/$f" ] || fail "kwok stage $f missing from sigs.k8s.io/kwok@$KWOK_VERSION" "check the pin"
        cat "$kdir/kustomize/stage/$f"
        echo "---"
      done >"$cache/bin/kwok-stages.yaml"
      ;;
    istioctl)
      # Stamped as 1.30.3 (the release whose CRDs and API this commit carries) so that
      # `istioctl version` and `manifest generate` name 1.30.3 images instead of testing:latest.
      iv=istio.io/istio/pkg/version
      build istioctl "$ISTIO_VERSION" "-s -w -X $iv.buildVersion=1.30.3 -X $iv.buildTag=1.30.3 -X $iv.buildHub=docker.io/istio -X $iv.buildStatus=Clean -X $iv.buildGitRevision=${ISTIO_VERSION##*-}" \
        "istioctl=istio.io/istio/istioctl/cmd/istioctl"
      istio_crds
      gateway_api_crds
      ;;
    oracle)
      # Istio's own config generation (pilot/test/xds + pilot/pkg/simulation) at the istioctl pin:
      # the same module versions as istioctl, so Go's module and build caches are shared.
      build oracle "$ISTIO_VERSION" "-s -w" "oracle=test:."
      ;;
    crane) build crane "$CRANE_VERSION" "-s -w" "crane=github.com/google/go-containerregistry/cmd/crane" ;;
    flagger)
      # Benchmarks only, so not in the default list. Its CRDs come from the same module.
      build flagger "$FLAGGER_VERSION" "-s -w" "flagger=github.com/fluxcd/flagger/cmd/flagger"
      fdir=$(cd "$gomods/flagger" && go mod download -json "github.com/fluxcd/flagger@$FLAGGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
      [ -f "$fdir/artifacts/flagger/crd.yaml" ] || fail "Flagger CRDs not found in github.com/fluxcd/flagger@$FLAGGER_VERSION" \
        "expected $fdir/artifacts/flagger/crd.yaml" "what to do: check the Go module proxy serves that version"
      install -m 0644 "$fdir/artifacts/flagger/crd.yaml" "$cache/bin/flagger-crds.yaml"
      ;;
    istio-crds) istio_crds ;;
    gateway-api-crds) gateway_api_crds ;;
    prometheus) provision_prometheus ;;
    tools) apt_install openssl openssl ;; # certificates for the test control plane
    chromium)
      # The dashboard's browser test: Debian's Chromium, driven by playwright-core, and the
      # metric-compatible sans-serif font the pages name (Chromium only recommends it).
      apt_install chromium chromium
      [ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || apt_install fc-liberation-missing fonts-liberation
      log "chromium: $(chromium --version 2>/dev/null | head -n1)"
      ;;
    *) fail "unknown part '$part'" "known parts: tools etcd kubernetes kwok istioctl oracle crane flagger istio-crds gateway-api-crds prometheus chromium" ;;
  esac
done
echo "$cache/bin"
