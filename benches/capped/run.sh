#!/usr/bin/env bash
# Converts one single-layer image (all of /usr/share, gzip -1) from Debian's docker-registry,
# directly and through cap.py (20 MB/s per connection), with 1 to 16 connections, and prints
# wall time and peak RSS of each run. Needs docker-registry, skopeo, python3 and GNU time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${SOCI_CAPPED_DIR:-$root/target/soci-bench/capped}
mkdir -p "$work"
cargo build --release -q -p soci-cli --manifest-path "$root/Cargo.toml"
socix=$root/target/release/socix
cat > "$work/registry.yml" <<CONFIG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:5700
  secret: bench
CONFIG
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry=$!
python3 "$root/benches/capped/cap.py" 5701 5700 20 &
proxy=$!
trap 'kill $registry $proxy' EXIT
sleep 1
if [ ! -d "$work/image" ]; then
  tar -cf - -C / usr/share 2>/dev/null | gzip -1 >"$work/layer.tar.gz"
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
for port in 5700 5701; do
  for connections in 1 2 4 8 16; do
    rm -rf "$work/out"
    took=$({ /usr/bin/time -f "%e s, peak RSS %M KB" "$socix" convert --plain-http \
      --connections "$connections" "127.0.0.1:$port/big:v1" "oci:$work/out" -q >/dev/null; } 2>&1)
    echo "$([ $port = 5700 ] && echo direct || echo capped) connections=$connections: $took"
  done
done
