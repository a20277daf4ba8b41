#!/usr/bin/env bash
# deploy_docker.sh - deploy/docker/Dockerfile, checked without a Docker
# engine (none runs here): its build stage configures with the exact cmake
# command and names targets that exist; its runtime packages exist in its
# Debian release and provide every library the binaries link; its settings,
# port, health check and user agree with the code and the Helm chart; its
# ignore file keeps the sources in the build context.
. "$(dirname "$0")/../harness/e2e.sh"
skip_under_asan "the Dockerfile is checked against the plain build"
DF=$SRC/deploy/docker/Dockerfile
IGNORE=$SRC/deploy/docker/Dockerfile.dockerignore
VALUES=$SRC/deploy/helm/muster/values.yaml

# The Dockerfile with continuation lines joined, one instruction a line.
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$DF" | grep -v '^[[:space:]]*#' >"$E2E_DIR/df"
# apt_packages N: the packages of the Nth `apt-get install` (1 build, 2 runtime).
apt_packages() {
  grep 'apt-get install' "$E2E_DIR/df" | sed -n "${1}p" | sed 's/.*apt-get install[^&]*--no-install-recommends//; s/&&.*//' |
    tr ' ' '\n' | grep -v '^$'
}
build_pkgs=$(apt_packages 1)
runtime_pkgs=$(apt_packages 2)
[ -n "$build_pkgs" ] && [ -n "$runtime_pkgs" ] || fail "no apt-get install lines found"

# --- build stage --------------------------------------------------------------------
deps=$(sed -n '/^packages=(/,/^)/p' "$SRC/scripts/deps.sh" | tr ' ' '\n')
for p in $build_pkgs; do
  grep -qx "$p" <<<"$deps" || fail "build package $p is not one scripts/deps.sh installs"
done
pass "build packages are scripts/deps.sh's: $(echo $build_pkgs)"
cmake_cfg=$(grep -o 'cmake -S \. -B /build [^&]*' "$E2E_DIR/df" | head -1)
targets=$(grep -o 'cmake --build /build .*--target [^&]*' "$E2E_DIR/df" | sed 's/.*--target //')
[ -n "$cmake_cfg" ] && [ -n "$targets" ] || fail "no cmake configure/build step found"
# Configure as the image does, in a scratch directory (no compile: `make
# build` compiled the same sources), and check the targets exist.
${cmake_cfg/\/build/$E2E_DIR/cmake} -S "$SRC" >"$E2E_DIR/cmake.out" 2>&1 ||
  { tail -20 "$E2E_DIR/cmake.out" >&2; fail "'$cmake_cfg' does not configure"; }
cmake --build "$E2E_DIR/cmake" --target help >"$E2E_DIR/targets"
for t in $targets; do
  grep -q "\.\.\. $t\$" "$E2E_DIR/targets" || fail "the image builds target $t, which CMake does not have"
done
pass "'$(echo $cmake_cfg)' configures; targets $(echo $targets) exist"
installed=$(grep -o 'install -D -m 0755 -t /out/usr/local/bin [^&]*' "$E2E_DIR/df" | sed 's#.*/usr/local/bin##; s#/build/##g')
# Every program CMake builds (add_executable of a top-level main) is in it.
for prog in $(sed -n 's/^add_executable(\(muster[a-z-]*\) .*/\1/p' "$SRC/CMakeLists.txt" | grep -v '^muster-sink$'); do
  grep -qw "$prog" <<<"$installed" || fail "the image does not install $prog"
done
# What the chart runs is in the image.
for prog in $(grep -ho 'args: \["[a-z-]*"' "$SRC"/deploy/helm/muster/templates/*.yaml | sed 's/.*"\(.*\)"/\1/' | sort -u); do
  grep -qw "$prog" <<<"$installed" || fail "the chart runs $prog, which the image does not install"
done
"$BIN/muster" validate "$SRC/docs/examples/workflows" >/dev/null || fail "the build step's muster validate fails"
pass "the image installs $(echo $installed), all the chart runs"

# --- runtime stage: packages exist, and carry every linked library -----------------
release=$(sed -n 's/^ARG DEBIAN_RELEASE=//p' "$DF")
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = "$release" ] && command -v apt-cache >/dev/null &&
   [ -n "$(apt-cache policy libc6 2>/dev/null | sed -n 's/ *Candidate: //p' | grep -v none)" ]; then
  for p in $build_pkgs $runtime_pkgs; do
    c=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/ *Candidate: //p')
    [ -n "$c" ] && [ "$c" != "(none)" ] || fail "Debian $release has no package $p"
  done
  pass "Debian $release has every package the Dockerfile installs"
  for b in $installed; do
    for so in $(readelf -d "$BIN/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      path=$(ldconfig -p | awk -v so="$so" '$1 == so && !p { p = $NF } END { print p }')
      [ -n "$path" ] || fail "$b needs $so, which ldconfig does not know"
      pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path")
      pkg=${pkg%%:*}
      case " libc6 libgcc-s1 $(echo $runtime_pkgs) " in
        *" $pkg "*) ;;
        *) fail "$b needs $so from $pkg, which the runtime stage does not install" ;;
      esac
    done
  done
  pass "the runtime packages provide every library the binaries link"
else
  pass "skipped the package checks: this machine is not Debian $release with apt lists"
fi

# --- settings, port, health check, user ----------------------------------------------
"$BIN/muster" config >"$E2E_DIR/settings"
for v in $(grep -o 'MUSTER_[A-Z_]*=' "$E2E_DIR/df" | tr -d = | sort -u); do
  grep -qw "$v" "$E2E_DIR/settings" || fail "the Dockerfile sets $v, which is no setting"
done
port=$(grep -o 'MUSTER_STATUS_PORT=[0-9]*' "$E2E_DIR/df" | cut -d= -f2)
expect_eq "EXPOSE = MUSTER_STATUS_PORT" "$(sed -n 's/^EXPOSE //p' "$E2E_DIR/df")" "$port"
expect_eq "the chart's statusPort = the image's" "$(sed -n 's/^statusPort: //p' "$VALUES")" "$port"
expect_eq "MUSTER_STATUS_ADDRESS" "$(grep -o 'MUSTER_STATUS_ADDRESS=[0-9.]*' "$E2E_DIR/df" | cut -d= -f2)" 0.0.0.0
grep -q '^HEALTHCHECK .*CMD curl -fsS .*http://127.0.0.1:${MUSTER_STATUS_PORT}/healthz' "$E2E_DIR/df" ||
  fail "HEALTHCHECK does not ask /healthz on the status port"
expect_eq "USER" "$(sed -n 's/^USER //p' "$E2E_DIR/df")" \
  "$(sed -n 's/^  runAsUser: //p' "$VALUES"):$(sed -n 's/^  runAsGroup: //p' "$VALUES")"
grep -q "useradd --system --uid $(sed -n 's/^  runAsUser: //p' "$VALUES") " "$E2E_DIR/df" || fail "useradd's uid is not the chart's runAsUser"
expect_eq "ENTRYPOINT" "$(sed -n 's/^ENTRYPOINT //p' "$E2E_DIR/df")" '["/usr/bin/tini", "--"]'
expect_eq "CMD" "$(sed -n 's/^CMD //p' "$E2E_DIR/df")" '["muster-worker"]'
expect_eq "stages on slim Debian" "$(grep -c '^FROM debian:${DEBIAN_RELEASE}-slim' "$E2E_DIR/df")" 2

# --- the build context keeps what the build needs --------------------------------------
needed=(CMakeLists.txt cmake common dispatcher worker cli metrics tests bench docs/examples/workflows)
while read -r pattern; do
  case $pattern in ''|'#'*) continue ;; esac
  for n in "${needed[@]}"; do
    # shellcheck disable=SC2053
    [[ $n == $pattern || $n == ${pattern#\*\*/} ]] && fail "Dockerfile.dockerignore drops $n (pattern $pattern)"
  done
done <"$IGNORE"
for n in "${needed[@]}"; do [ -e "$SRC/$n" ] || fail "the build needs $n, which is not in the tree"; done
pass "the build context keeps ${needed[*]}"
echo "1 passed, 0 failed"
