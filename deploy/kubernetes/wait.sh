#!/bin/sh
# Wait for a Job to finish either way: exit 0 once it completes, 1 as soon as it fails, 2 on timeout or when it
# cannot be read. `kubectl wait --for=condition=complete` alone sits out its whole timeout on a failed Job, and a
# shard that failed makes the drill invalid at once (the shard Job has maxFailedIndexes: 0).
#
#   deploy/kubernetes/wait.sh job/spacetime-drill-shards 7200    # JOB and a timeout in seconds
set -u
job=${1:?usage: wait.sh job/NAME [TIMEOUT_SECONDS]}
timeout=${2:-7200}
kubectl get "$job" >/dev/null || exit 2
deadline=$(($(date +%s) + timeout))
while :; do
  # `--timeout=0s` checks the condition once; the wait on completion is what blocks, a few seconds at a time.
  if kubectl wait --for=condition=failed --timeout=0s "$job" >/dev/null 2>&1; then
    echo "$job failed" >&2
    exit 1
  fi
  if kubectl wait --for=condition=complete --timeout=5s "$job" >/dev/null 2>&1; then
    echo "$job complete"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$job neither completed nor failed within ${timeout}s" >&2
    exit 2
  fi
done
