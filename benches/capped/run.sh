#!/usr/bin/env bash
# Converts one single-layer image (all of /usr/share, gzip -1) from Debian's docker-registry into
# an OCI layout, directly and through cap.py (MB_PER_SECOND per connection, 20 by default, as S3
# serves each connection), with each number of connections in CONNECTIONS (1 2 4 8 16), RUNS
# times (1) interleaved, and prints wall time and peak RSS of each run, checking that every run
# built the same image. See lib.sh for what it needs.
set -euo pipefail
# shellcheck source=benches/capped/lib.sh
source "$(dirname "$0")/lib.sh"
work=${SOCI_CAPPED_DIR:-$root/target/soci-bench/capped}
start_registry "$work" 5700
start_cap 5701 5700 "${MB_PER_SECOND:-20}"
push_image "$work" -C / usr/share
expected=
for run in $(seq "${RUNS:-1}"); do
  for connections in ${CONNECTIONS:-1 2 4 8 16}; do
    for port in 5700 5701; do
      rm -rf "$work/out"
      read -r secs rss < <(measure "$socix" convert --plain-http --connections "$connections" \
        "127.0.0.1:$port/big:v1" "oci:$work/out" -q)
      digest=$(output_digest "$work/out")
      expected=${expected:-$digest}
      [ "$digest" = "$expected" ] || { echo "run $run: built $digest, not $expected" >&2; exit 1; }
      echo "run $run $([ $port = 5700 ] && echo direct || echo capped) connections=$connections: $secs s, peak RSS $rss MB"
    done
  done
done
echo "every run built $expected"
