#!/usr/bin/env bash
# deploy_contract.sh - the manifests and the binaries agree. The chart is
# rendered, and its containers are run here as the kubelet would run them:
# the manifest's env (values, Secret keys, the pod name), its volumes
# materialised as files (ConfigMap and Secret mounts in the kubelet's
# ..data layout), its args. Only what cannot be the same on this machine is
# changed, and each change is checked first against the manifest:
#   - Redis and Kafka addresses point at the test's servers;
#   - status.address/intake.address 0.0.0.0 become 127.0.0.1 (loopback only)
#     and their ports, the containers' declared ports, become free ports;
#   - paths under /etc/muster/ live under a temp dir.
# Then: every MUSTER_* name is one the program reads (its --help); the
# probes' paths answer on the probed port; the init container's `muster
# validate` passes on the ConfigMap; the workers and the dispatcher take an
# alert through the chart's example workflow and muster-metrics counts it;
# the KEDA triggers' streams and consumer group are the ones the workers
# read; Kafka TLS/SASL and Redis ACL settings reach librdkafka and hiredis;
# each daemon stops on SIGTERM within its pod's terminationGracePeriodSeconds.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
eval "$(bash "$SRC/scripts/k8s-tools.sh" env)" || fail "scripts/k8s-tools.sh could not install the tools"
CHART=$SRC/deploy/helm/muster
render() {
  "$MUSTER_HELM" template muster "$CHART" --namespace muster --kube-version "$MUSTER_K8S_VERSION" \
    -f "$CHART/ci/$1-values.yaml" >"$E2E_DIR/$1.yaml" || fail "helm template $1"
  node "$MUSTER_K8S_VALIDATE" --json "$E2E_DIR/$1.json" "$E2E_DIR/$1.yaml" >/dev/null || fail "$1 is not valid"
}
render keda
render production

# The Secrets the values files name, as a cluster would hold them.
mkdir -p "$E2E_DIR/tls"
(cd "$E2E_DIR/tls" &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca &&
  openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr -subj /CN=muster &&
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt -days 1) \
  >/dev/null 2>&1 || fail "openssl could not make test certificates"
SECRETS=$(jq -n --rawfile ca "$E2E_DIR/tls/ca.crt" --rawfile crt "$E2E_DIR/tls/tls.crt" \
  --rawfile key "$E2E_DIR/tls/tls.key" '{
  "muster-redis": {password: "redis-pass", username: "muster"},
  "muster-kafka-sasl": {username: "muster", password: "sasl-pass"},
  "muster-kafka-tls": {"ca.crt": $ca, "tls.crt": $crt, "tls.key": $key},
  "muster-intake": {token: "intake-token-1"},
  "muster-vendor-slack": {SLACK_TOKEN: "xoxb-test"},
  "muster-vendor-jira": {JIRA_TOKEN: "jira-test"},
  "muster-vendor-pagerduty": {routing_key: "pd-test"}}')

# container R DEPLOY C: the container's JSON (init containers too).
container() {
  jq -c --arg d "$2" --arg c "$3" '.[] | select(.kind == "Deployment" and .metadata.name == $d) |
    (.spec.template.spec.initContainers // []) + .spec.template.spec.containers | .[] | select(.name == $c)' \
    "$E2E_DIR/$1.json"
}
pod_spec() { jq -c --arg d "$2" '.[] | select(.kind == "Deployment" and .metadata.name == $d) | .spec.template.spec' "$E2E_DIR/$1.json"; }
env_of() { jq -r --arg n "$2" '.env[]? | select(.name == $n) | .value // empty' <<<"$1"; }
port_of() { jq -r --arg n "$2" '.ports[]? | select(.name == $n) | .containerPort' <<<"$1"; }

# --- 1. every MUSTER_* name is a setting the program reads --------------------------
for r in keda production; do
  for d in muster-dispatcher muster-worker muster-metrics; do
    for c in $(jq -r --arg d "$d" '.[] | select(.kind == "Deployment" and .metadata.name == $d) |
                 (.spec.template.spec.initContainers // []) + .spec.template.spec.containers | .[].name' "$E2E_DIR/$r.json"); do
      ctr=$(container "$r" "$d" "$c")
      prog=$(jq -r '.args[0]' <<<"$ctr")
      [ -x "$BIN/$prog" ] || fail "$r $d/$c runs '$prog', which is not one of the programs"
      case $prog in
        muster) "$BIN/muster" config >"$E2E_DIR/reads" ;;
        *) "$BIN/$prog" --help >"$E2E_DIR/reads" ;;
      esac
      for v in $(jq -r '.env[]?.name | select(startswith("MUSTER_"))' <<<"$ctr"); do
        grep -qw -- "$v" "$E2E_DIR/reads" || fail "$r $d/$c sets $v, which $prog does not read"
      done
      # Status and intake listen on all addresses, on the declared ports.
      if [ "$prog" != muster ]; then
        expect_eq "$r $c status.address" "$(env_of "$ctr" MUSTER_STATUS_ADDRESS)" 0.0.0.0
        expect_eq "$r $c status.port = containerPort status" "$(env_of "$ctr" MUSTER_STATUS_PORT)" "$(port_of "$ctr" status)"
      fi
      if [ -n "$(port_of "$ctr" intake)" ]; then
        expect_eq "$r $c intake.address" "$(env_of "$ctr" MUSTER_INTAKE_ADDRESS)" 0.0.0.0
        expect_eq "$r $c intake.port = containerPort intake" "$(env_of "$ctr" MUSTER_INTAKE_PORT)" "$(port_of "$ctr" intake)"
      fi
      # A file a setting names is inside one of the container's mounts.
      for path in $(jq -r '.env[]? | .value // empty | select(startswith("/"))' <<<"$ctr"); do
        jq -e --arg p "$path" '[.volumeMounts[]?.mountPath | . as $m | $p | startswith($m + "/") or . == $m] | any' <<<"$ctr" >/dev/null ||
          fail "$r $d/$c names $path, which no volume mounts"
      done
    done
  done
done
pass "every MUSTER_* variable is read by its program; status and intake ports are the declared ones"

# --- the kubelet, for one container -----------------------------------------------
# start_container R DEPLOY C POD [NAME=VALUE...]: runs the container as POD
# (its env, mounts and args; the extra NAME=VALUE replace manifest values
# that must differ here, and must exist in the manifest). Sets CPID; the
# output goes to $E2E_DIR/POD.log.
start_container() {
  local r=$1 d=$2 c=$3 pod=$4; shift 4
  local ctr spec root=$E2E_DIR/pods/$pod/root
  ctr=$(container "$r" "$d" "$c") spec=$(pod_spec "$r" "$d")
  mkdir -p "$root"
  # Volumes: each mount's source written as the kubelet does (..data).
  local m
  while IFS=$'\t' read -r m vol; do
    local dir=$root$m stamp=..2026_01_01_00_00_00.1 src
    mkdir -p "$dir/$stamp"
    src=$(jq -c --arg v "$vol" '.volumes[] | select(.name == $v)' <<<"$spec")
    if jq -e .configMap <<<"$src" >/dev/null; then
      jq -c --arg n "$(jq -r .configMap.name <<<"$src")" '.[] | select(.kind == "ConfigMap" and .metadata.name == $n) | .data' \
        "$E2E_DIR/$r.json" >"$dir/.src.json"
    elif jq -e .secret <<<"$src" >/dev/null; then
      jq -c --argjson s "$SECRETS" --argjson v "$src" '$s[$v.secret.secretName] as $d |
        if $v.secret.items then [$v.secret.items[] | {key: .path, value: $d[.key]}] | from_entries else $d end' \
        <<<null >"$dir/.src.json"
    else
      rmdir "$dir/$stamp"; continue # emptyDir
    fi
    [ "$(jq 'length' "$dir/.src.json")" -gt 0 ] || fail "$pod: volume $vol has no data"
    for f in $(jq -r 'keys[]' "$dir/.src.json"); do
      jq -j --arg f "$f" '.[$f]' "$dir/.src.json" >"$dir/$stamp/$f"
      ln -s "..data/$f" "$dir/$f"
    done
    ln -s "$stamp" "$dir/..data"
    rm "$dir/.src.json"
  done < <(jq -r '.volumeMounts[]? | "\(.mountPath)\t\(.name)"' <<<"$ctr")
  # Environment: envFrom Secrets, then env (later wins, as in Kubernetes).
  local -a envs=()
  mapfile -d '' envs < <(jq -j --arg pod "$pod" --argjson sec "$SECRETS" '
    ((.envFrom // [])[] | $sec[.secretRef.name] | to_entries[] | "\(.key)=\(.value)\u0000"),
    ((.env // [])[] | if has("value") then "\(.name)=\(.value)\u0000"
      elif .valueFrom.secretKeyRef then "\(.name)=\($sec[.valueFrom.secretKeyRef.name][.valueFrom.secretKeyRef.key])\u0000"
      elif .valueFrom.fieldRef.fieldPath == "metadata.name" then "\(.name)=\($pod)\u0000"
      else error("no source for env \(.name)") end)' <<<"$ctr")
  local i kv
  for i in "${!envs[@]}"; do
    case ${envs[$i]} in *=/etc/muster/*) envs[$i]=${envs[$i]%%=*}=$root${envs[$i]#*=} ;; esac
  done
  local set
  for kv in "$@"; do
    set=0
    for i in "${!envs[@]}"; do [ "${envs[$i]%%=*}" = "${kv%%=*}" ] && set=1; done
    [ $set = 1 ] || fail "$pod: the manifest does not set ${kv%%=*}"
    envs+=("$kv")
  done
  local -a args=()
  mapfile -t args < <(jq -r '.args[]' <<<"$ctr")
  for i in "${!args[@]}"; do
    case ${args[$i]} in /etc/muster/*) args[$i]=$root${args[$i]} ;; esac
  done
  local -a keep=(PATH=/usr/local/bin:/usr/bin:/bin)
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do [ -n "${!v:-}" ] && keep+=("$v=${!v}"); done
  env -i "${keep[@]}" "${envs[@]}" "$BIN/${args[0]}" "${args[@]:1}" >>"$E2E_DIR/$pod.log" 2>&1 &
  CPID=$!
  E2E_PIDS+=("$CPID")
}
# run_container ...: the same, waiting for the exit; sets RC.
run_container() { start_container "$@"; RC=0; wait "$CPID" || RC=$?; }

# probe_ok R DEPLOY C PORT: every probe of the container answers 200 on PORT
# (the port the container's status port was moved to).
probes_ok() {
  local ctr probe path
  ctr=$(container "$1" "$2" "$3")
  for probe in startupProbe livenessProbe readinessProbe; do
    path=$(jq -r ".$probe.httpGet.path" <<<"$ctr")
    [ "$(jq -r ".$probe.httpGet.port" <<<"$ctr")" = status ] || return 1
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$4$path" || return 1
  done
}

# --- 2. the keda render: the whole path, Redis ACL user in clear ---------------------
start_redis
redis-cli -p "$REDIS_PORT" ACL SETUSER muster on '>redis-pass' '~*' '&*' +@all >/dev/null
start_kafka
ADDR=(MUSTER_REDIS_HOST=127.0.0.1 "MUSTER_REDIS_PORT=$REDIS_PORT" "MUSTER_KAFKA_BROKERS=$MUSTER_KAFKA_BROKERS")

run_container keda muster-dispatcher validate-workflows muster-dispatcher-abc-init
expect_eq "init container: muster validate of the ConfigMap" "$RC" 0
DPORT=$(free_port)
start_container keda muster-dispatcher dispatcher muster-dispatcher-abc "${ADDR[@]}" \
  MUSTER_STATUS_ADDRESS=127.0.0.1 "MUSTER_STATUS_PORT=$DPORT"
KEDA_DISPATCHER=$CPID
WPORTS=()
for i in 0 1; do
  WPORTS[$i]=$(free_port)
  start_container keda muster-worker worker "muster-worker-xyz-$i" "${ADDR[@]}" \
    MUSTER_STATUS_ADDRESS=127.0.0.1 "MUSTER_STATUS_PORT=${WPORTS[$i]}"
  WPIDS[$i]=$CPID
done
MPORT=$(free_port)
start_container keda muster-metrics metrics muster-metrics-abc "${ADDR[@]}" \
  MUSTER_STATUS_ADDRESS=127.0.0.1 "MUSTER_STATUS_PORT=$MPORT"
KEDA_METRICS=$CPID
wait_for 30 probes_ok keda muster-dispatcher dispatcher "$DPORT" ||
  fail "dispatcher probes: $(tail -3 "$E2E_DIR/muster-dispatcher-abc.log")"
for i in 0 1; do
  wait_for 30 probes_ok keda muster-worker worker "${WPORTS[$i]}" ||
    fail "worker probes: $(tail -3 "$E2E_DIR/muster-worker-xyz-$i.log")"
done
wait_for 30 probes_ok keda muster-metrics metrics "$MPORT" ||
  fail "muster-metrics probes: $(tail -3 "$E2E_DIR/muster-metrics-abc.log")"
pass "startup, liveness and readiness probes answer 200 on the status ports (dispatcher, 2 workers, muster-metrics)"
curl -fsS "http://127.0.0.1:${WPORTS[0]}/metrics" | "$BIN/muster-promcheck" >/dev/null || fail "worker /metrics"
curl -fsS "http://127.0.0.1:$DPORT/metrics" | "$BIN/muster-promcheck" >/dev/null || fail "dispatcher /metrics"
curl -fsS "http://127.0.0.1:$MPORT/metrics" | "$BIN/muster-promcheck" >/dev/null || fail "muster-metrics /metrics"
pass "/metrics (the ServiceMonitor's path) is Prometheus text"
authed=$(redis-cli -p "$REDIS_PORT" CLIENT LIST | grep -c ' user=muster ' || true)
[ "$authed" -ge 4 ] || fail "$authed Redis connections authenticated as the ACL user 'muster', want 4"
pass "dispatcher, workers and muster-metrics authenticate as ACL user 'muster' ($authed connections)"

echo '{"source": "k8s", "summary": "chart example", "labels": {"muster_example": "true"}}' |
  "$BIN/muster" send-alert - >/dev/null || fail "send-alert"
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "the example workflow did not run"
pass "an alert ran through the chart's example workflow"
opened() { curl -fsS "http://127.0.0.1:$MPORT/metrics" | grep -q '^muster_incidents_opened_total{.*} 1$'; }
wait_for 30 opened || fail "muster-metrics did not count the incident: $(curl -s "http://127.0.0.1:$MPORT/metrics" | grep -m3 incidents)"
pass "muster-metrics counted the incident from the chart's events topic"

# The KEDA triggers read the streams and group the workers use.
for t in $(jq -r '.[] | select(.kind == "ScaledObject") | .spec.triggers[] | .metadata | "\(.stream)|\(.consumerGroup)|\(.address)"' "$E2E_DIR/keda.json"); do
  IFS='|' read -r stream group address <<<"$t"
  wctr=$(container keda muster-worker worker)
  expect_eq "trigger address = the workers' Redis" "$address" \
    "$(env_of "$wctr" MUSTER_REDIS_HOST):$(env_of "$wctr" MUSTER_REDIS_PORT)"
  info=$(redis-cli -p "$REDIS_PORT" XINFO GROUPS "$stream")
  [ "$(awk 'f { print; exit } $0 == "name" { f = 1 }' <<<"$info")" = "$group" ] ||
    fail "stream $stream has no consumer group $group: $info"
  lag=$(awk 'f { print; exit } $0 == "lag" { f = 1 }' <<<"$info")
  [[ "$lag" =~ ^[0-9]+$ ]] || fail "XINFO GROUPS $stream gives no lag ('$lag'): KEDA's lagCount needs Redis 7"
  pass "KEDA trigger: $stream, group $group exists, lag $lag"
done

# --- 3. the production render: TLS, SASL, Redis user from a Secret, intake -----------
# Kafka here speaks plaintext, so these clients cannot log in; what is checked
# is that librdkafka and hiredis get the manifest's settings.
DPORT=$(free_port) IPORT=$(free_port) WPORT=$(free_port)
start_container production muster-dispatcher dispatcher muster-dispatcher-prod "${ADDR[@]}" \
  MUSTER_STATUS_ADDRESS=127.0.0.1 "MUSTER_STATUS_PORT=$DPORT" \
  MUSTER_INTAKE_ADDRESS=127.0.0.1 "MUSTER_INTAKE_PORT=$IPORT"
PROD_DISPATCHER=$CPID
start_container production muster-worker worker muster-worker-prod-0 "${ADDR[@]}" \
  MUSTER_STATUS_ADDRESS=127.0.0.1 "MUSTER_STATUS_PORT=$WPORT"
PROD_WORKER=$CPID
healthy() { curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$1/healthz"; }
wait_for 30 healthy "$DPORT" || fail "production dispatcher: $(tail -3 "$E2E_DIR/muster-dispatcher-prod.log")"
wait_for 30 healthy "$WPORT" || fail "production worker: $(tail -3 "$E2E_DIR/muster-worker-prod-0.log")"
pass "production: both daemons run with SASL_SSL, a client certificate and the Redis ACL user from Secrets"
registered() { [ "$(redis-cli -p "$REDIS_PORT" hexists muster-prod:workers "$1")" = 1 ]; }
wait_for 30 registered muster-worker-prod-0 || fail "no heartbeat under redis.prefix muster-prod"
pass "production worker is in muster-prod:workers as its pod name (prefix, user and password reached hiredis)"
grep -q "sasl_ssl://" "$E2E_DIR/muster-worker-prod-0.log" ||
  fail "the worker's Kafka client did not use sasl_ssl: $(grep -m3 kafka "$E2E_DIR/muster-worker-prod-0.log")"
pass "production worker's Kafka client connects with sasl_ssl"
post() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$IPORT/api/v1/alerts"; }
wait_for 30 post -X GET || fail "no webhook intake on the intake port"
expect_eq "intake: GET" "$(post -X GET)" 405
expect_eq "intake: no token" "$(post --data '{}')" 401
expect_eq "intake: wrong token" "$(post -H 'Authorization: Bearer nope' --data '{}')" 401
expect_eq "intake: the Secret's token, a body no format takes" \
  "$(post -H 'Authorization: Bearer intake-token-1' --data '{"x":1}')" 400

# Broken TLS files or a bad mechanism stop the worker at start, in librdkafka's words:
# proof that each setting reaches it.
refused_by_librdkafka() {
  local want=$1; shift
  run_container production muster-worker worker muster-worker-bad "${ADDR[@]}" \
    MUSTER_STATUS_ADDRESS=127.0.0.1 "MUSTER_STATUS_PORT=$(free_port)" "$@"
  [ "$RC" = 2 ] || fail "worker with $* exited $RC, want 2"
  grep -q "$want" "$E2E_DIR/muster-worker-bad.log" || fail "worker with $* does not say '$want': $(tail -2 "$E2E_DIR/muster-worker-bad.log")"
  rm -rf "$E2E_DIR/pods/muster-worker-bad" "$E2E_DIR/muster-worker-bad.log"
}
refused_by_librdkafka "ssl.key.location" "MUSTER_KAFKA_SSL_KEY=$E2E_DIR/tls/ca.crt"
refused_by_librdkafka "ssl.certificate.location" "MUSTER_KAFKA_SSL_CERT=$E2E_DIR/tls/absent.crt"
refused_by_librdkafka "ssl.ca.location" "MUSTER_KAFKA_SSL_CA=$E2E_DIR/tls/absent.crt"
refused_by_librdkafka "SASL mechanism" MUSTER_KAFKA_SASL_MECHANISM=BOGUS
pass "kafka.ssl_key, kafka.ssl_cert, kafka.ssl_ca and kafka.sasl_mechanism reach librdkafka"

# --- 4. SIGTERM, as the kubelet sends it: each daemon is out within its pod's
# terminationGracePeriodSeconds, exit code 0, while Redis and Kafka are
# still up (as in a rollout).
stops_in_time() {
  local pid=$1 what=$2 term=$3 t0=$SECONDS rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  expect_eq "$what exit code on SIGTERM" "$rc" 0
  [ $((SECONDS - t0)) -lt "$term" ] || fail "$what took $((SECONDS - t0)) s to stop; the pod allows $term s"
  pass "$what stopped in $((SECONDS - t0)) s (the pod allows $term s)"
}
grace() { jq -r '.terminationGracePeriodSeconds' <<<"$(pod_spec "$1" "$2")"; }
stops_in_time "${WPIDS[0]}" "keda worker" "$(grace keda muster-worker)"
stops_in_time "${WPIDS[1]}" "keda worker" "$(grace keda muster-worker)"
stops_in_time "$PROD_WORKER" "production worker" "$(grace production muster-worker)"
stops_in_time "$KEDA_DISPATCHER" "keda dispatcher" "$(grace keda muster-dispatcher)"
stops_in_time "$KEDA_METRICS" "keda muster-metrics" "$(grace keda muster-metrics)"
stops_in_time "$PROD_DISPATCHER" "production dispatcher" "$(grace production muster-dispatcher)"
# No sanitizer report from any process this test ran.
if grep -l "Sanitizer" "$E2E_DIR"/*.log >/dev/null 2>&1; then
  grep -h -A5 "Sanitizer" "$E2E_DIR"/*.log | head -20 >&2; fail "sanitizer report"
fi
echo "1 passed, 0 failed"
