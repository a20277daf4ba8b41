#!/usr/bin/env bash
# install_deb.sh - muster installs like a real tool. The .deb CPack builds
# from this tree declares the libraries it links and redis-server, and
# extracted into a temporary root it runs: muster --version, muster validate
# on the installed examples, the installed settings file, and muster up
# --examples finding its siblings and examples from the prefix alone, through
# one incident. `make install DESTDIR=... PREFIX=/usr` lays out the same
# files, and the bash completion loads in plain bash.
. "$(dirname "$0")/../harness/e2e.sh"
skip_under_asan "packaging does not change with the sanitizers"
for tool in cpack dpkg-deb dpkg-shlibdeps make; do
  command -v "$tool" >/dev/null || skip_test "$tool is not installed (scripts/deps.sh: dpkg-dev, cmake, make)"
done
[ -f "$BIN/CMakeCache.txt" ] || skip_test "$BIN is not a CMake build tree"

# The .deb, from the tree ctest runs in, written outside it.
(cd "$BIN" && cpack -G DEB -B "$E2E_DIR/deb") >"$E2E_DIR/cpack.log" 2>&1 ||
  { cat "$E2E_DIR/cpack.log" >&2; fail "cpack -G DEB"; }
debs=("$E2E_DIR"/deb/muster_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single muster_*.deb: ${debs[*]}"
deb=${debs[0]}
info=$(dpkg-deb -I "$deb")
depends=$(sed -n 's/^ Depends: //p' <<<"$info")
[ -n "$depends" ] || fail "the .deb declares no Depends: $info"
# Every library the programs link, by the package that ships it here.
for lib in $(readelf -d "$BIN"/muster "$BIN"/muster-{dispatcher,worker,metrics,sink} |
             sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
  # Whole outputs read: an early reader's exit (SIGPIPE) fails pipefail.
  so=$(ldconfig -p | awk -v l="$lib" '$1 == l && !so { so = $NF } END { print so }')
  [ -n "$so" ] || continue
  pkg=$(dpkg -S "$(readlink -f "$so")" 2>/dev/null | sed -n '1s/:.*//p') || true
  [ -n "$pkg" ] || continue
  [[ ", $depends" == *", $pkg "* || ", $depends," == *", $pkg,"* ]] ||
    fail "the .deb links $lib (package $pkg) but Depends is: $depends"
done
grep -q '^ Recommends: .*redis-server' <<<"$info" || fail "redis-server is not recommended: $info"
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
[ "$conffiles" = /etc/muster/muster.conf ] || fail "the conffiles are not /etc/muster/muster.conf: $conffiles"
pass "the .deb declares Depends: $depends; Recommends redis-server"

# Extracted into a temporary root: the programs run from it.
root=$E2E_DIR/root
dpkg-deb -x "$deb" "$root"
for f in usr/bin/muster usr/bin/muster-dispatcher usr/bin/muster-worker usr/bin/muster-metrics usr/bin/muster-api \
         usr/bin/muster-sink etc/muster/muster.conf usr/share/muster/examples/secrets.env \
         usr/share/muster/examples/scripts/check-disk.sh usr/share/bash-completion/completions/muster \
         usr/share/zsh/site-functions/_muster usr/share/doc/muster/README.md; do
  [ -e "$root/$f" ] || fail "the .deb has no /$f"
done
[ -x "$root/usr/share/muster/examples/scripts/check-disk.sh" ] || fail "the example scripts lost their x bit"
muster=$root/usr/bin/muster
version=$("$muster" --version) || fail "installed muster --version"
[ "$version" = "$("$BIN/muster" --version)" ] || fail "installed muster says '$version'"
"$muster" validate "$root/usr/share/muster/examples/workflows" >"$E2E_DIR/validate.out" ||
  fail "installed muster validate on the installed examples"
[ "$(grep -c '^ok ' "$E2E_DIR/validate.out")" -eq "$(ls "$root"/usr/share/muster/examples/workflows/*.yaml | wc -l)" ] ||
  fail "not every installed workflow validated: $(cat "$E2E_DIR/validate.out")"
pass "$version from the .deb; $(grep -c '^ok ' "$E2E_DIR/validate.out") installed workflows valid"

# The settings file: every setting at its default, commented out; with the
# comments taken away it still loads and changes nothing.
conf=$root/etc/muster/muster.conf
[ "$(grep -c '^#[a-z][a-z_.]* = ' "$conf")" -eq "$("$BIN/muster" config --markdown | grep -c '^| `')" ] ||
  fail "muster.conf does not list every setting"
sed 's/^#\([a-z][a-z_.]* =\)/\1/' "$conf" >"$E2E_DIR/uncommented.conf"
[ "$(env -u MUSTER_HTTP_ALLOW_PRIVATE -u MUSTER_EXEC_DIRS "$muster" -c "$E2E_DIR/uncommented.conf" config)" = \
  "$(env -u MUSTER_HTTP_ALLOW_PRIVATE -u MUSTER_EXEC_DIRS "$muster" config)" ] ||
  fail "muster.conf, uncommented, does not load as the defaults"
pass "muster.conf lists every setting at its default"

# muster up --examples from the prefix alone: siblings and examples beside
# the installed muster, not the source tree (run from elsewhere, no hints).
if command -v redis-server >/dev/null; then
  mkdir -p "$E2E_DIR/away"
  (cd "$E2E_DIR/away" && exec env -u MUSTER_EXAMPLES_DIR -u MUSTER_EXEC_DIRS -u MUSTER_HTTP_ALLOW_PRIVATE \
     "$muster" up --examples --workers 1 --env-file "$E2E_DIR/env") >"$E2E_DIR/up.out" 2>"$E2E_DIR/up.log" &
  E2E_PIDS+=($!)
  wait_for 30 test -s "$E2E_DIR/env" || fail "installed muster up --examples did not start"
  grep -q "examples    $root/usr/share/muster/examples" "$E2E_DIR/up.out" ||
    fail "muster up did not serve the installed examples: $(cat "$E2E_DIR/up.out")"
  (set -a; . "$E2E_DIR/env"; set +a
   "$muster" send-alert "$root/usr/share/muster/examples/alerts/checkout-down.json" >/dev/null &&
   "$muster" wait --incidents 1 --timeout 30s >/dev/null 2>&1 &&
   "$muster" incident list --json) >"$E2E_DIR/incidents.json" || fail "installed muster: the incident did not finish"
  run=$(jq -r '.[0].run' "$E2E_DIR/incidents.json")
  [ "$run" = succeeded ] || fail "the installed examples' run ended '$run'"
  pass "installed muster up --examples ran an incident: $run"
else
  echo "note: no redis-server here; muster up from the prefix not tried"
fi

# make install with DESTDIR and PREFIX: the same layout, /etc for /usr.
stage=$E2E_DIR/stage
make -s -C "$SRC" install BUILD="$BIN" DESTDIR="$stage" PREFIX=/usr >"$E2E_DIR/install.log" 2>&1 ||
  { cat "$E2E_DIR/install.log" >&2; fail "make install DESTDIR=... PREFIX=/usr"; }
diff <(cd "$root" && find . -type f | grep -v '^./usr/share/doc/' | sort) \
     <(cd "$stage" && find . -type f | grep -v '^./usr/share/doc/' | sort) >&2 ||
  fail "make install and the .deb lay out different files"
"$stage/usr/bin/muster" validate "$stage/usr/share/muster/examples/workflows" >/dev/null ||
  fail "muster validate after make install"
pass "make install DESTDIR=... PREFIX=/usr lays out $(cd "$stage" && find . -type f | wc -l) files"

# The completion loads in plain bash (no bash-completion package needed)
# and completes commands and options.
comp=$stage/usr/share/bash-completion/completions/muster
out=$(PATH="$stage/usr/bin:$PATH" bash --norc -c '
  source "$1" && complete -p muster || exit 1
  t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _muster; echo "${COMPREPLY[*]}"; }
  t muster re; t muster up --ex; t muster -s redis.po' _ "$comp") || fail "bash cannot load $comp"
[ "$out" = "complete -F _muster muster
resolve replay report
--examples
redis.port=" ] || fail "bash completion completes: $out"
if command -v zsh >/dev/null; then
  zsh -n "$stage/usr/share/zsh/site-functions/_muster" || fail "zsh cannot parse _muster"
  zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit && compinit -u -d "$2/zcompdump" &&
             [[ $_comps[muster] == _muster ]]' _ "$stage/usr/share/zsh/site-functions" "$E2E_DIR" ||
    fail "zsh does not take _muster as the completion of muster"
  pass "bash and zsh completion load"
else
  pass "bash completion loads (no zsh here to try _muster)"
fi
