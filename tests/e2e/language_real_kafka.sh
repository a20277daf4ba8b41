#!/usr/bin/env bash
# language_real_kafka.sh - the workflow language end to end on a real
# Apache Kafka broker (skipped only when MUSTER_E2E_KAFKA=mock).
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/language_checks.sh"
if [ "${MUSTER_E2E_KAFKA:-}" = mock ]; then skip_test "real-Kafka run (MUSTER_E2E_KAFKA=mock)"; fi
run_language_checks real
