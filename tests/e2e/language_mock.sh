#!/usr/bin/env bash
# language_mock.sh - the workflow language end to end on the embedded Kafka.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/language_checks.sh"
run_language_checks mock
