#!/usr/bin/env bash
# `socix convert` throughput under CPU quotas (CPUS: 0.5 1 2), as Lambda gives CPU in
# proportion to memory (1,769 MB = one vCPU): one single-layer image (/usr/bin, the libraries of
# /usr/lib and /usr/share: about 2.3 GB, gzip -6 as docker pushes them) made once under
# SOCI_CPU_DIR (/tmp/soci-cpu, about 2 GB), read from docker-registry on loopback (outside the
# quota, as ECR and S3 are) with the default connections, and its SOCI index pushed to the same
# repository, as the generator does. The quota is a cgroup's: v2 `cpu.max`, or v1
# `cpu.cfs_quota_us`; needs root. RUNS (2) runs of each, interleaved. See lib.sh for the rest.
set -euo pipefail
# shellcheck source=benches/capped/lib.sh
source "$(dirname "$0")/lib.sh"
work=${SOCI_CPU_DIR:-/tmp/soci-cpu}
start_registry "$work" 5700
GZIP_LEVEL=6 push_image "$work" -C / usr/bin usr/lib/x86_64-linux-gnu usr/lib/jvm usr/lib/gcc usr/share
size=$(find "$work/image/blobs" -type f -size +1M -printf '%s\n')
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  group=/sys/fs/cgroup/soci-bench-$$
  mkdir "$group"
  quota() { echo "$(echo "$1 * 100000 / 1" | bc) 100000" >"$group/cpu.max"; }
else
  group=/sys/fs/cgroup/cpu/soci-bench-$$
  mkdir "$group"
  quota() { echo "$1 * 100000 / 1" | bc >"$group/cpu.cfs_quota_us"; }
fi
trap 'kill "${pids[@]}" 2>/dev/null; sleep 1; rmdir "$group"' EXIT
for run in $(seq "${RUNS:-2}"); do
  for cpus in ${CPUS:-0.5 1 2}; do
    quota "$cpus"
    # shellcheck disable=SC2016 # expanded by the inner shell
    read -r secs rss < <(measure sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$group" \
      "$socix" convert --plain-http --force 127.0.0.1:5700/big:v1 127.0.0.1:5700/big:v1-soci -q)
    echo "run $run, $cpus CPU: $secs s, $(echo "$size / 1000000 / $secs" | bc) MB/s of a $((size / 1000000)) MB layer, peak RSS $rss MB"
  done
done
