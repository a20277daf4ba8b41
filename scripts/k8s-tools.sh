#!/usr/bin/env bash
# k8s-tools.sh - installs, once, what checks the Kubernetes manifests
# (tests/e2e/deploy_*.sh): Helm, built with `go install` from its Go module,
# and the npm project deploy/k8s-validate (kubernetes-models: the Kubernetes
# API's OpenAPI schemas as validators). Both are cached under
# ${MUSTER_CACHE:-$HOME/.cache/muster}/k8s; a second run finds them there
# and touches no network.
#
#   scripts/k8s-tools.sh        install what is missing, say what it did
#   scripts/k8s-tools.sh env    the same, quietly, then print for `eval`:
#                                 MUSTER_HELM=...          the helm binary
#                                 MUSTER_K8S_VALIDATE=...  the validator script
#                                 MUSTER_K8S_VERSION=...   the schemas' Kubernetes version
#
# Needs go (1.26 or newer) and node with npm (20 or newer).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MUSTER_CACHE:-$HOME/.cache/muster}
K8S=$CACHE/k8s
HELM_VERSION=v3.22.0
# The Kubernetes version kubernetes-models 5.1.0 was generated from; charts
# are rendered for it so Helm's and the schemas' versions agree.
K8S_VERSION=1.36.0
HELM=$K8S/helm-$HELM_VERSION/helm
quiet=0
[ "${1:-}" = env ] && quiet=1

say() { [ $quiet = 1 ] || echo "k8s-tools: $*" >&2; }
mkdir -p "$K8S"
# Go's own install location, for shells whose PATH lacks it.
command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || PATH=$PATH:/usr/local/go/bin

# --- Helm -----------------------------------------------------------------
# The module and its dependencies come from the Go module proxy; the build
# is what Helm's own Makefile does (CGO off, version and Kubernetes version
# stamped in). The module cache stays beside the binary, so even a rebuild
# is offline.
install_helm() {
  command -v go >/dev/null || { echo "k8s-tools: go is needed to build helm" >&2; return 1; }
  local t0=$SECONDS tmp=$K8S/helm-$HELM_VERSION.tmp
  # The module cache is also the first proxy (file://), so modules fetched
  # once are never asked for again; the usual proxy comes after it.
  local proxy
  proxy="file://$K8S/go/mod/cache/download,$(go env GOPROXY)"
  local goenv=(GOMODCACHE="$K8S/go/mod" GOCACHE="$K8S/go/build" GOFLAGS=-modcacherw
               GOPROXY="$proxy" GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp")
  say "building helm $HELM_VERSION with $(go version | cut -d' ' -f3) (first time only, about 2 minutes)"
  rm -rf "$tmp" && mkdir -p "$tmp"
  local gomod
  gomod=$(env "${goenv[@]}" go mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
          sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  # Helm reports the Kubernetes version of the client-go it was built with
  # (client-go v0.N.x is Kubernetes 1.N), as its Makefile stamps it.
  local minor
  minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$gomod")
  [ -n "$minor" ] || { echo "k8s-tools: no k8s.io/client-go in $gomod" >&2; return 1; }
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ld+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  env "${goenv[@]}" go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  rm -rf "$(dirname "$HELM")" && mv "$tmp" "$(dirname "$HELM")"
  # The build cache only speeds up building again; the module cache stays.
  chmod -R u+w "$K8S/go/build" 2>/dev/null || true
  rm -rf "$K8S/go/build"
  say "helm $HELM_VERSION built in $((SECONDS - t0)) s"
}
if ! { [ -x "$HELM" ] && "$HELM" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; }; then
  install_helm
fi

# --- the validator (npm) --------------------------------------------------
# node_modules lives in the cache, in a folder named after the lock file's
# hash, never in the source tree; `npm ci` installs exactly the lock.
VDIR_SRC=$SRC/deploy/k8s-validate
lockhash=$(sha256sum "$VDIR_SRC/package-lock.json" | cut -c1-16)
VDIR=$K8S/validate-$lockhash
if [ ! -f "$VDIR/.installed" ]; then
  command -v npm >/dev/null || { echo "k8s-tools: npm is needed for deploy/k8s-validate" >&2; exit 1; }
  t0=$SECONDS
  say "installing deploy/k8s-validate (npm ci) into $VDIR"
  rm -rf "$VDIR" && mkdir -p "$VDIR"
  cp "$VDIR_SRC/package.json" "$VDIR_SRC/package-lock.json" "$VDIR/"
  # kubernetes-models asks for Node 22 and runs on 20; the warning is noise.
  (cd "$VDIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
     --cache "$K8S/npm-cache" --prefer-offline >&2)
  touch "$VDIR/.installed"
  # Installs for older lock files are of no more use.
  for old in "$K8S"/validate-*; do [ "$old" = "$VDIR" ] || rm -rf "$old"; done
  say "validator installed in $((SECONDS - t0)) s"
fi
# The script itself is copied on every run (node resolves an ES module's
# imports next to the file, so it must sit beside node_modules).
cmp -s "$VDIR_SRC/validate.mjs" "$VDIR/validate.mjs" || cp "$VDIR_SRC/validate.mjs" "$VDIR/validate.mjs"

if [ $quiet = 1 ]; then
  printf 'MUSTER_HELM=%q\nMUSTER_K8S_VALIDATE=%q\nMUSTER_K8S_VERSION=%q\n' \
    "$HELM" "$VDIR/validate.mjs" "$K8S_VERSION"
else
  say "helm: $HELM ($("$HELM" version --short))"
  say "validator: node $VDIR/validate.mjs (kubernetes-models, Kubernetes $K8S_VERSION schemas)"
fi
