#!/usr/bin/env bash
# oncall_cli.sh - muster oncall against the example on-call files and a
# throwaway redis-server: who is on call at a time, the rota, overrides
# added, seen, winning, and removed; validate; the help.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_redis
EX=$SRC/docs/examples/oncall
export MUSTER_ONCALL_DIR=$EX
M() { "$BIN/muster" "$@"; }

# Who is on call: Monday 2026-03-30 is a weekday past the Berlin change;
# Dave has office hours 09:00-17:00 over the weekly rotation.
M oncall db-primary --at 2026-03-30T10:00:00+02:00 >"$E2E_DIR/who"
grep -qE '^db-primary +dave +Dave Singh +Mon 2026-03-30 09:00 CEST +Mon 2026-03-30 17:00 CEST +office hours$' "$E2E_DIR/who" ||
  fail "oncall at 10:00: $(cat "$E2E_DIR/who")"
expect_eq "at 17:00 CEST the weekly person (carol handed to alice at 09:00)" \
  "$(M oncall db-primary --at 2026-03-30T15:00Z --json | jq -r '.[0].who')" alice
expect_eq "Saturday night in Berlin" "$(M oncall db-primary --at 2026-03-28T23:00:00+01:00 --json | jq -r '.[0].who')" carol
expect_eq "every schedule without a name" "$(M oncall --at 2026-03-30T10:00Z --json | jq -r 'map(.schedule) | join(",")')" db-primary,db-secondary,demo-primary,demo-secondary
# db-secondary: 12 hours at 08:00 and 20:00 New York time, from 2026-01-04 08:00.
json=$(M oncall db-secondary --at 2026-03-08T12:00:00-04:00 --json)
expect_eq "secondary after the New York change: since" "$(jq -r '.[0].since' <<<"$json")" 2026-03-08T08:00:00-04:00
expect_eq "secondary: until" "$(jq -r '.[0].until' <<<"$json")" 2026-03-08T20:00:00-04:00
expect_eq "secondary: alice, with her contacts" "$(jq -r '.[0].who + " " + .[0].contacts.phone' <<<"$json")" "alice +4915112345678"

# The rota: 14 days in the schedule's zone, a table sized to its content.
M oncall show db-primary --days 14 --from 2026-03-23T00:00:00+01:00 >"$E2E_DIR/show"
grep -q '^FROM  *TO  *ON CALL  *NAME  *VIA$' "$E2E_DIR/show" || fail "show header: $(head -3 "$E2E_DIR/show")"
grep -qE '^Mon 2026-03-30 09:00 CEST +Mon 2026-03-30 17:00 CEST +dave ' "$E2E_DIR/show" || fail "show: $(cat "$E2E_DIR/show")"
grep -qE '^Fri 2026-03-27 17:00 CET +Mon 2026-03-30 09:00 CEST +carol ' "$E2E_DIR/show" || fail "show over the change: $(cat "$E2E_DIR/show")"
width=$(awk 'NR > 2 { print length($0) }' "$E2E_DIR/show" | sort -n | tail -1)
[ "$width" -lt 100 ] || fail "show is wider than its content needs: $width"
rows=$(M oncall show db-primary --days 14 --from 2026-03-23T00:00:00+01:00 --json | jq '.rota | length')
expect_eq "show --json has the table's rows" "$rows" "$(($(wc -l <"$E2E_DIR/show") - 3))"
handoffs=$(M oncall show db-primary --days 14 --from 2026-03-23T00:00:00+01:00 --json |
  jq -r '[.rota[] | select(.who == "dave") | .from[11:16]] | unique | join(",")')
expect_eq "office hours start at 09:00 on both sides of the change" "$handoffs" "09:00"

# Overrides: bob takes Monday 10:00-12:00; he wins over Dave's office hours.
out=$(M oncall override db-primary --who bob --from 2026-03-30T10:00:00+02:00 --to 2026-03-30T12:00:00+02:00 --by ops)
id=$(sed -n 's/^override \(ovr-[0-9a-f]*\): .*/\1/p' <<<"$out")
[ -n "$id" ] || fail "override: $out"
expect_eq "the override wins" "$(M oncall db-primary --at 2026-03-30T11:00:00+02:00 --json | jq -r '.[0].who + " " + .[0].override')" "bob $id"
expect_eq "outside it, the layers" "$(M oncall db-primary --at 2026-03-30T12:00:00+02:00 --json | jq -r '.[0].who')" dave
M oncall override db-primary --list >"$E2E_DIR/list"
grep -qE "^$id +bob +Bob Okafor +Mon 2026-03-30 10:00 CEST +Mon 2026-03-30 12:00 CEST +ops$" "$E2E_DIR/list" || fail "list: $(cat "$E2E_DIR/list")"
expect_eq "stored under the prefix, hash-tagged by schedule" "$(redis-cli -p "$REDIS_PORT" hlen 'muster:oncall:{db-primary}:overrides')" 1
M oncall show db-primary --days 1 --from 2026-03-30T00:00:00+02:00 | grep -qE "^Mon 2026-03-30 10:00 CEST +Mon 2026-03-30 12:00 CEST +bob +Bob Okafor +override $id$" ||
  fail "show lacks the override: $(M oncall show db-primary --days 1 --from 2026-03-30T00:00:00+02:00)"
rc=0; M oncall override db-primary --who zed --from 2026-03-30T10:00Z --to 2026-03-30T11:00Z 2>"$E2E_DIR/err" || rc=$?
expect_eq "an unknown person is refused" "$rc" 1
grep -q 'no person "zed"' "$E2E_DIR/err" || fail "$(cat "$E2E_DIR/err")"
rc=0; M oncall override db-primary --who bob --from 2026-03-30T12:00Z --to 2026-03-30T11:00Z 2>/dev/null || rc=$?
expect_eq "to before from is a usage error" "$rc" 2
M oncall override db-primary --remove "$id" | grep -q "removed override $id" || fail "remove"
rc=0; M oncall override db-primary --remove "$id" 2>/dev/null || rc=$?
expect_eq "removing it twice fails" "$rc" 1
expect_eq "after removal, the layers" "$(M oncall db-primary --at 2026-03-30T11:00:00+02:00 --json | jq -r '.[0].who')" dave
M oncall override db-primary | grep -q "no overrides on db-primary" || fail "empty list"
# Both changes are on the record: muster audit, and operator.action on the outbox.
M audit --json | jq -e --arg id "$id" '[.[] | select(.action == "override" and .schedule == "db-primary" and .override == $id)] |
  (map(.outcome) | sort) == ["added", "removed"] and all(.[]; .by == "ops" or .by != "")' >/dev/null ||
  fail "audit of the override: $(M audit --json)"
expect_eq "operator.action events of the override, subject oncall/db-primary" \
  "$(redis-cli -p "$REDIS_PORT" --raw xrange muster:outbox - + | grep '^{' |
     jq -s '[.[] | select(.type == "operator.action" and .subject == "oncall/db-primary" and .data.schedule == "db-primary" and (.data | has("incident") | not))] | length')" 2
pass "adding and removing an override is audited"

# Mistakes say what is wrong.
rc=0; M oncall nope 2>"$E2E_DIR/err" || rc=$?
expect_eq "unknown schedule" "$rc" 1
grep -q 'no schedule "nope"; there are: db-primary db-secondary' "$E2E_DIR/err" || fail "$(cat "$E2E_DIR/err")"
rc=0; M oncall --at yesterday 2>/dev/null || rc=$?
expect_eq "a time without an offset is a usage error" "$rc" 2
rc=0; M oncall --at 2026-03-30T10:00:00 2>/dev/null || rc=$?
expect_eq "local time without offset refused" "$rc" 2

# validate checks on-call files, with file:line:column.
M validate --oncall "$EX" | grep -q "4 person(s), 4 schedule(s), 2 policy(ies)" || fail "validate --oncall"
mkdir -p "$E2E_DIR/bad"
cp "$EX"/*.yaml "$E2E_DIR/bad/"
sed -i 's/participants: \[alice, bob, carol\]/participants: [alice, bob, zoe]/' "$E2E_DIR/bad/schedules.yaml"
rc=0; M validate --oncall "$E2E_DIR/bad" 2>"$E2E_DIR/err" || rc=$?
expect_eq "validate with an unknown participant" "$rc" 1
grep -q "^$E2E_DIR/bad/schedules.yaml:10:40: there is no person \"zoe\"$" "$E2E_DIR/err" || fail "$(cat "$E2E_DIR/err")"

# Without Redis: an error that names --offline, and --offline works.
rc=0; MUSTER_REDIS_PORT=1 M oncall db-primary 2>"$E2E_DIR/err" || rc=$?
expect_eq "no Redis" "$rc" 1
grep -q -- "--offline" "$E2E_DIR/err" || fail "$(cat "$E2E_DIR/err")"
MUSTER_REDIS_PORT=1 M oncall db-primary --offline --at 2026-03-30T10:00Z --json | jq -e '.[0].who == "dave"' >/dev/null || fail "--offline"

for sub in "" show override; do
  M oncall $sub --help >"$E2E_DIR/help"
  grep -q "^Usage: muster oncall" "$E2E_DIR/help" && grep -q "^Options:" "$E2E_DIR/help" || fail "oncall $sub --help"
done
pass "muster oncall"
