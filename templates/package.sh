#!/usr/bin/env bash
# Builds the three Lambda functions of the SOCI Index Builder stack for arm64, stages them where
# SociIndexBuilder.yml looks for them, and uploads them to S3.
#
# The staging directory mirrors the S3 layout under the key prefix, so it is also a self-contained
# taskcat project (cd templates/build && taskcat test run):
#   .taskcat.yml
#   templates/SociIndexBuilder.yml
#   functions/packages/soci-index-filter/bootstrap.zip
#   functions/packages/soci-index-generator/bootstrap.zip
#   functions/packages/soci-index-custom-resource/bootstrap.zip
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# The binaries of crate soci-lambda, by the names the template's S3 keys use.
functions=(soci-index-filter soci-index-generator soci-index-custom-resource)
target=aarch64-unknown-linux-gnu

usage() {
  cat <<EOF
Usage: templates/package.sh [options]

Builds soci-index-filter, soci-index-generator and soci-index-custom-resource (crate
soci-lambda) for arm64 with cargo-lambda, stages them as
<out>/functions/packages/<function>/bootstrap.zip next to a copy of the template,
and, with --bucket, uploads them to s3://<bucket>/<prefix>... for SociIndexBuilder.yml
(parameters QSS3BucketName and QSS3KeyPrefix). The bucket must be in the Region of the stack.

Options:
  --bucket NAME      S3 bucket to upload to (without it: build and stage only)
  --prefix PREFIX    key prefix, empty or ending in '/' (default: cfn-ecr-aws-soci-index-builder/)
  --dry-run          build and stage, then print the uploads instead of running them (no AWS
                     access needed)
  --skip-build       do not run cargo-lambda: package the bootstrap.zip files already in the
                     lambda directory
  --lambda-dir DIR   where cargo-lambda writes <function>/bootstrap.zip
                     (default: \${CARGO_TARGET_DIR:-<workspace>/target}/lambda)
  --out DIR          staging directory (default: templates/build)
  -h, --help         this message

Needs cargo-lambda (pip install cargo-lambda, which brings zig for cross-compiling) and the Rust
target $target (added with rustup when missing). Uploading needs the AWS CLI and
credentials; AWS_PROFILE and AWS_REGION are honoured as usual.
EOF
}

die() {
  echo "package.sh: $*" >&2
  exit 1
}

usage_error() {
  echo "package.sh: $*" >&2
  echo "Try 'templates/package.sh --help'." >&2
  exit 2
}

bucket=""
prefix="cfn-ecr-aws-soci-index-builder/"
dry_run=false
skip_build=false
lambda_dir="${CARGO_TARGET_DIR:-$root/target}/lambda"
out="$here/build"

# Options take their value as the next argument or after '='.
need_value() {
  [ "$2" -ge 2 ] || usage_error "$1 needs a value"
}
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run) dry_run=true ;;
    --skip-build) skip_build=true ;;
    --bucket) need_value "$1" $# && bucket=$2 && shift ;;
    --bucket=*) bucket=${1#*=} ;;
    --prefix) need_value "$1" $# && prefix=$2 && shift ;;
    --prefix=*) prefix=${1#*=} ;;
    --lambda-dir) need_value "$1" $# && lambda_dir=$2 && shift ;;
    --lambda-dir=*) lambda_dir=${1#*=} ;;
    --out) need_value "$1" $# && out=$2 && shift ;;
    --out=*) out=${1#*=} ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

# The same constraints as the template's QSS3BucketName and QSS3KeyPrefix parameters, so whatever
# is uploaded here can be deployed.
if [ -n "$bucket" ]; then
  if [ ${#bucket} -lt 3 ] || [ ${#bucket} -gt 63 ] ||
    ! [[ $bucket =~ ^[0-9a-z]+([0-9a-z.-]*[0-9a-z])*$ ]]; then
    usage_error "invalid bucket name '$bucket' (3-63 characters: lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)"
  fi
fi
if [ -n "$prefix" ] && ! [[ $prefix =~ ^([0-9a-zA-Z!-_.*\'\(\)/]+/)*$ ]]; then
  usage_error "invalid prefix '$prefix' (must be empty or end with '/', like the template's QSS3KeyPrefix)"
fi
if $dry_run && [ -z "$bucket" ]; then
  usage_error "--dry-run shows the uploads to a bucket: give --bucket too"
fi
[ -n "$out" ] || usage_error "--out needs a directory"

# Checks before the (long) build, so a missing AWS set-up fails in seconds.
if [ -n "$bucket" ] && ! $dry_run; then
  command -v aws >/dev/null || die "the AWS CLI (aws) is needed to upload; use --dry-run to see the uploads"
  aws sts get-caller-identity >/dev/null 2>&1 ||
    die "no usable AWS credentials (aws sts get-caller-identity failed); configure them or use --dry-run"
fi

if ! $skip_build; then
  cargo lambda --version >/dev/null 2>&1 ||
    die "cargo-lambda is not installed: pip install cargo-lambda (see https://www.cargo-lambda.info)"
  cd "$root"
  # cargo-lambda cross-compiles with zig but still needs Rust's standard library for the target.
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
  fi
  for fn in "${functions[@]}"; do
    echo "building $fn for arm64"
    cargo lambda build --release --arm64 -p soci-lambda --bin "$fn" --output-format zip \
      --lambda-dir "$lambda_dir"
  done
fi

# Lambda runs the file named bootstrap at the top of the archive (runtime provided.al2023).
zip_has_bootstrap() {
  if command -v unzip >/dev/null; then
    unzip -Z1 "$1" 2>/dev/null | grep -qx bootstrap
  else
    python3 - "$1" <<'EOF'
import sys
import zipfile

try:
    names = zipfile.ZipFile(sys.argv[1]).namelist()
except (OSError, zipfile.BadZipFile):
    sys.exit(1)
sys.exit(0 if "bootstrap" in names else 1)
EOF
  fi
}

# Check every package before staging any.
for fn in "${functions[@]}"; do
  zip="$lambda_dir/$fn/bootstrap.zip"
  [ -f "$zip" ] || die "$zip not found (built by: cargo lambda build --release --arm64 -p soci-lambda --bin $fn --output-format zip)"
  zip_has_bootstrap "$zip" || die "$zip is not a zip with 'bootstrap' at its top level"
done
for fn in "${functions[@]}"; do
  mkdir -p "$out/functions/packages/$fn"
  cp "$lambda_dir/$fn/bootstrap.zip" "$out/functions/packages/$fn/bootstrap.zip"
done
mkdir -p "$out/templates"
cp "$here/SociIndexBuilder.yml" "$out/templates/SociIndexBuilder.yml"
cp "$here/.taskcat.yml" "$out/.taskcat.yml"
echo "staged in $out"

if [ -z "$bucket" ]; then
  echo "no --bucket given: nothing uploaded"
  exit 0
fi

uploads=()
for fn in "${functions[@]}"; do
  uploads+=("functions/packages/$fn/bootstrap.zip")
done
uploads+=(templates/SociIndexBuilder.yml)
for key in "${uploads[@]}"; do
  dest="s3://$bucket/$prefix$key"
  if $dry_run; then
    echo "would upload $out/$key to $dest"
  else
    aws s3 cp --only-show-errors "$out/$key" "$dest"
    echo "uploaded $dest"
  fi
done

cat <<EOF

Deploy with:
  aws cloudformation deploy --stack-name soci-index-builder \\
    --template-file $out/templates/SociIndexBuilder.yml --capabilities CAPABILITY_IAM \\
    --parameter-overrides QSS3BucketName=$bucket QSS3KeyPrefix=$prefix
EOF
