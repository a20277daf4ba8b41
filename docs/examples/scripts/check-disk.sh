#!/bin/sh
# check-disk.sh - example diagnostic: disk usage of the affected host.
# muster passes alert data in MUSTER_* environment variables and as JSON on
# stdin; arguments come from the workflow, never from a shell line.
host="${2:-unknown}"
echo "disk on ${host}: $(df -P / | awk 'NR==2 {print $5 " used of " $2 " blocks"}')"
