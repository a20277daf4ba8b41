#!/usr/bin/env bash
# pipeline_mock.sh - the end-to-end scenario on the embedded Kafka (mock).
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/pipeline_checks.sh"
run_pipeline_checks
