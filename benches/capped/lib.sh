# shellcheck shell=bash
# Shared by run.sh and memory.sh: a release socix, Debian's docker-registry, cap.py in front of
# it, and a single-layer image (the trees given, tar | gzip -1) pushed as big:v1. Needs
# docker-registry, skopeo, python3 and GNU time. Other engineers compile on the same machine:
# measure() waits (up to ten minutes) until no rustc runs, and says when it gave up waiting.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cargo build --release -q -p soci-cli --manifest-path "$root/Cargo.toml"
# shellcheck disable=SC2034 # used by the scripts that source this one
socix=$root/target/release/socix
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT

# start_registry DIR PORT: a docker-registry on 127.0.0.1:PORT, storage under DIR.
start_registry() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  cat > "$dir/registry.yml" <<CONFIG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
  secret: bench
CONFIG
  docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  pids+=($!)
}

# start_cap PORT UPSTREAM_PORT MB_PER_SECOND [up]: cap.py on PORT in front of UPSTREAM_PORT.
start_cap() {
  python3 "$root/benches/capped/cap.py" "$@" &
  pids+=($!)
  sleep 1
}

# push_image WORK TAR_ARGS...: the image whose one layer is `tar -cf - TAR_ARGS | gzip -1` (-N
# with GZIP_LEVEL=N), made once into WORK/image, pushed to the registry on port 5700 as big:v1.
push_image() {
  local work=$1
  shift
  if [ ! -d "$work/image" ]; then
    tar -cf - "$@" 2>/dev/null | gzip "-${GZIP_LEVEL:-1}" >"$work/layer.tar.gz"
    python3 - "$work" <<'PY'
import hashlib, json, os, sys
work = sys.argv[1]
blobs = os.path.join(work, "image", "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, digest), "wb").write(data)
    return "sha256:" + digest
layer = os.path.join(work, "layer.tar.gz")
hasher, size = hashlib.sha256(), 0
with open(layer, "rb") as f:
    while chunk := f.read(1 << 20):
        hasher.update(chunk)
        size += len(chunk)
os.replace(layer, os.path.join(blobs, hasher.hexdigest()))
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + hasher.hexdigest(), "size": size}],
}).encode()
entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(manifest), "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": "v1"}}
open(os.path.join(work, "image", "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(work, "image", "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
PY
  fi
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/image:v1" docker://127.0.0.1:5700/big:v1
  du -sm "$work/image/blobs" | awk '{ print "image: " $1 " MB" }'
}

# measure COMMAND...: "<wall s> <peak RSS MB>" of COMMAND, run when no rustc is running.
measure() {
  local waited=0
  while pgrep -x rustc >/dev/null && [ $waited -lt 600 ]; do
    sleep 5
    waited=$((waited + 5))
  done
  pgrep -x rustc >/dev/null && echo "warning: rustc still running" >&2
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
    /Maximum resident set size/ { rss = $NF / 1024 }
    /Exit status/ { status = $NF }
    END { if (status != 0) print "failed" > "/dev/stderr"; printf "%.2f %.0f\n", s, rss }'
}

# output_digest LAYOUT: the digest of the SOCI-enabled image LAYOUT holds (its index.json's
# first manifest), the same for any run that built the same thing.
output_digest() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$1/index.json"
}
