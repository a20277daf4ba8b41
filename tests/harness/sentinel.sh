# sentinel.sh - sourced after faults.sh: a Redis primary, a replica and
# three redis-sentinel processes on loopback, for tests that fail Redis over.

# start_replicated_redis: the primary (start_redis) and a replica of it;
# sets REPLICA_PORT.
start_replicated_redis() {
  start_redis
  PRIMARY_PORT=$REDIS_PORT
  REPLICA_PORT=$(free_port)
  mkdir -p "$E2E_DIR/replica"
  redis-server --port "$REPLICA_PORT" --bind 127.0.0.1 --dir "$E2E_DIR/replica" --save "" \
    --appendonly yes --appendfsync always --logfile "$E2E_DIR/replica.log" \
    --replicaof 127.0.0.1 "$PRIMARY_PORT" &
  REPLICA_PID=$!
  E2E_PIDS+=("$REPLICA_PID")
  synced() { redis-cli -p "$REPLICA_PORT" info replication | grep -q 'master_link_status:up'; }
  wait_for 20 synced || fail "the replica did not sync with the primary"
}

# start_sentinels NAME: three sentinels watching the primary with quorum 2,
# quick to decide; exports MUSTER_REDIS_SENTINELS and MUSTER_REDIS_MASTER_NAME.
start_sentinels() {
  MASTER_NAME=$1
  SENTINEL_PORTS=()
  local list="" i port
  for i in 1 2 3; do
    port=$(free_port)
    mkdir -p "$E2E_DIR/sentinel$i"
    cat >"$E2E_DIR/sentinel$i/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
dir $E2E_DIR/sentinel$i
logfile $E2E_DIR/sentinel$i.log
sentinel monitor $MASTER_NAME 127.0.0.1 $PRIMARY_PORT 2
sentinel down-after-milliseconds $MASTER_NAME 1000
sentinel failover-timeout $MASTER_NAME 5000
sentinel parallel-syncs $MASTER_NAME 1
CONF
    redis-sentinel "$E2E_DIR/sentinel$i/sentinel.conf" &
    E2E_PIDS+=($!)
    SENTINEL_PORTS+=("$port")
    list=${list:+$list,}127.0.0.1:$port
  done
  for port in "${SENTINEL_PORTS[@]}"; do
    wait_for 20 redis-cli -p "$port" ping || fail "redis-sentinel on $port did not start"
  done
  # Each sentinel must know the replica (to promote it) and the others (to
  # agree); both arrive within a few seconds.
  knows_all() {
    local p
    for p in "${SENTINEL_PORTS[@]}"; do
      [ "$(redis-cli -p "$p" sentinel master "$MASTER_NAME" | grep -A1 -x num-slaves | tail -1)" = 1 ] || return 1
      [ "$(redis-cli -p "$p" sentinel master "$MASTER_NAME" | grep -A1 -x num-other-sentinels | tail -1)" = 2 ] || return 1
    done
  }
  wait_for 30 knows_all || fail "the sentinels did not find the replica and each other"
  export MUSTER_REDIS_SENTINELS=$list MUSTER_REDIS_MASTER_NAME=$MASTER_NAME
  # Point redis.host/port nowhere: only the sentinels may lead to Redis.
  export MUSTER_REDIS_PORT=$(free_port)
}

# sentinel_primary_port: the primary's port as the first sentinel sees it.
sentinel_primary_port() {
  redis-cli -p "${SENTINEL_PORTS[0]}" sentinel get-master-addr-by-name "$MASTER_NAME" | tail -1
}

# failed_over: every sentinel names the replica, and it says it is primary.
failed_over() {
  local p
  for p in "${SENTINEL_PORTS[@]}"; do
    [ "$(redis-cli -p "$p" sentinel get-master-addr-by-name "$MASTER_NAME" | tail -1)" = "$REPLICA_PORT" ] || return 1
  done
  redis-cli -p "$REPLICA_PORT" role | head -1 | grep -qx master
}
