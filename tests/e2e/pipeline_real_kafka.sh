#!/usr/bin/env bash
# pipeline_real_kafka.sh - the end-to-end scenario on a real Apache Kafka
# broker (KRaft, one node) started for this test. Skipped only when
# MUSTER_E2E_KAFKA=mock (the sanitizer run, to keep it short).
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/pipeline_checks.sh"
if [ "${MUSTER_E2E_KAFKA:-}" = mock ]; then skip_test "real-Kafka run (MUSTER_E2E_KAFKA=mock)"; fi
start_real_kafka
run_pipeline_checks "$KAFKA_BROKERS"
