#!/bin/sh
# check-connections.sh - example diagnostic: open TCP connections here, and
# which service the alert names (from the environment muster sets).
echo "service ${MUSTER_LABEL_SERVICE:-?}: $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | wc -l) tcp sockets"
