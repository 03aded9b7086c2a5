#!/usr/bin/env bash
# Whole-process comparison: `socix ztoc create` against `gzip -dc` on the same layers (wall time
# and peak RSS from /usr/bin/time -v), and a multi-layer conversion with one job against two.
# The layers are the criterion benches' inputs (run `cargo bench -p soci-benches --bench ztoc`
# once to make them, or this script makes them through that bench's input code).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p soci-cli
socix=target/release/socix
inputs=target/soci-bench
if [ ! -f "$inputs/large-random.tar.gz" ]; then
  cargo bench -q -p soci-benches --bench ztoc -- --test >/dev/null
fi

# Prints "<wall seconds> <peak RSS MB>" of a command.
measure() {
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
    /Maximum resident set size/ { rss = $NF / 1024 }
    END { printf "%.2f %.1f\n", s, rss }'
}

printf '| layer | compressed MB | gzip -dc s | socix ztoc create s | ratio | gzip RSS MB | socix RSS MB | zTOC MB |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for layer in usr-share small-files large-random; do
  file=$inputs/$layer.tar.gz
  [ -f "$file" ] || continue
  read -r gz_s gz_rss < <(measure gzip -dc "$file")
  read -r soci_s soci_rss < <(measure "$socix" ztoc create "$file" -o /tmp/compare.ztoc)
  printf '| %s | %.0f | %s | %s | %.2f | %s | %s | %.1f |\n' "$layer" \
    "$(echo "$(stat -c %s "$file") / 1048576" | bc -l)" "$gz_s" "$soci_s" \
    "$(echo "$soci_s / $gz_s" | bc -l)" "$gz_rss" "$soci_rss" \
    "$(echo "$(stat -c %s /tmp/compare.ztoc) / 1048576" | bc -l)"
done
rm -f /tmp/compare.ztoc

# Layers at once: the four-layer image of the pipeline bench, converted into a fresh layout.
layout=$inputs/multi-layer
if [ -d "$layout" ]; then
  for jobs in 1 2; do
    rm -rf /tmp/compare-out
    read -r s rss < <(measure "$socix" convert --quiet --jobs "$jobs" "oci:$layout:latest" "oci:/tmp/compare-out:latest")
    printf 'convert, %s job(s): %s s, peak RSS %s MB\n' "$jobs" "$s" "$rss"
  done
  rm -rf /tmp/compare-out
fi
