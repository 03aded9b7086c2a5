#!/usr/bin/env bash
# Peak RSS of `socix convert` on one large layer (about 1 GB: GIB_RANDOM GiB, 0.7 by default, of
# random files plus all of /usr/share, gzip -1), made once under SOCI_MEMORY_DIR (/tmp/soci-1g,
# not the repository; it takes about 4 GB), read from docker-registry directly and through cap.py (20 MB/s per
# connection), into an OCI layout and into a second docker-registry behind cap.py capping
# uploads (UPLOAD_MB_PER_SECOND, 40 by default): a destination slower to take the copied layer
# than the source gives it, so the reads must wait rather than buffer. Each with 1 connection
# and the default. See lib.sh for what it needs.
set -euo pipefail
# shellcheck source=benches/capped/lib.sh
source "$(dirname "$0")/lib.sh"
work=${SOCI_MEMORY_DIR:-/tmp/soci-1g}
mkdir -p "$work/tree/random"
if [ ! -d "$work/image" ]; then
  files=$(echo "${GIB_RANDOM:-0.7} * 10" | bc | cut -d. -f1)
  for i in $(seq "$files"); do
    head -c $((1024 * 1024 * 1024 / 10)) /dev/urandom >"$work/tree/random/$i.bin"
  done
fi
start_registry "$work/source" 5700
start_cap 5701 5700 "${MB_PER_SECOND:-20}"
start_registry "$work/dest" 5702
start_cap 5703 5702 "${UPLOAD_MB_PER_SECOND:-40}" up
push_image "$work" -C "$work/tree" random -C / usr/share
rm -rf "$work/tree"
for connections in 1 default; do
  flags=(--plain-http -q)
  [ "$connections" = default ] || flags+=(--connections "$connections")
  for port in 5700 5701; do
    from=$([ $port = 5700 ] && echo direct || echo capped)
    rm -rf "$work/out"
    read -r secs rss < <(measure "$socix" convert "${flags[@]}" "127.0.0.1:$port/big:v1" "oci:$work/out")
    echo "$from, connections=$connections, into a layout: $secs s, peak RSS $rss MB"
    rm -rf "$work/dest/data"
    read -r secs rss < <(measure "$socix" convert "${flags[@]}" "127.0.0.1:$port/big:v1" \
      "127.0.0.1:5703/copy:v1")
    echo "$from, connections=$connections, into a registry taking uploads at ${UPLOAD_MB_PER_SECOND:-40} MB/s: $secs s, peak RSS $rss MB"
  done
done
