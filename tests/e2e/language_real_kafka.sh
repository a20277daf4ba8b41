#!/usr/bin/env bash
# language_real_kafka.sh - the workflow language end to end on a real
# Apache Kafka broker (skipped only when MUSTER_E2E_KAFKA=mock).
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/language_checks.sh"
if [ "${MUSTER_E2E_KAFKA:-}" = mock ]; then echo "real-Kafka run skipped (MUSTER_E2E_KAFKA=mock)"; exit 0; fi
run_language_checks real
