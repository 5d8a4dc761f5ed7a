#!/usr/bin/env bash
# Build the spacetime-drill container image offline: cargo builds the binary on this host, this script stages it
# with the files it needs, and buildah builds deploy/image/Containerfile from that directory (FROM scratch, so no
# registry is contacted).
#
#   deploy/image/build.sh                      # static release binary (glibc, +crt-static), tag spacetime-drill:VERSION
#   deploy/image/build.sh --binary PATH        # an already built binary; a dynamic one gets its shared libraries
#   deploy/image/build.sh --tag NAME:TAG       # another tag (repeatable); :latest is always added
#   deploy/image/build.sh --stage DIR          # only stage the build context into DIR (for `docker build DIR`)
#
# Needs buildah (Debian: `apt-get install buildah`) and the CA bundle of Debian's ca-certificates package.
set -euo pipefail
cd "$(dirname "$0")/../.."

binary=""
stage_only=""
tags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --tag) tags+=("$2"); shift 2 ;;
    --stage) stage_only="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$stage_only" ] || command -v buildah >/dev/null ||
  { echo "build.sh: buildah is not installed (apt-get install buildah), or use --stage DIR" >&2; exit 2; }
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || { echo "build.sh: no CA bundle at $ca (apt-get install ca-certificates)" >&2; exit 2; }

if [ -z "$binary" ]; then
  # A static binary needs an explicit --target, or the flag would also apply to build scripts and proc macros.
  target=x86_64-unknown-linux-gnu
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked --target "$target" --bin spacetime-drill
  binary="target/$target/release/spacetime-drill"
fi
[ -x "$binary" ] || { echo "build.sh: $binary is not an executable" >&2; exit 2; }

if [ -n "$stage_only" ]; then
  stage="$stage_only"
  mkdir -p "$stage"
else
  stage=$(mktemp -d /tmp/spacetime-drill-image.XXXXXX)
  trap 'rm -rf "$stage"' EXIT
fi
root="$stage/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/home" "$stage/home"
chmod 1777 "$root/tmp"
# Debug info is for the developer's machine, not the image.
objcopy --strip-debug "$binary" "$root/usr/local/bin/spacetime-drill"
cp "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# A dynamic binary (e.g. the debug build CI already has) brings its shared libraries and loader along.
if ldd "$binary" >/dev/null 2>&1; then
  for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
fi
cp deploy/image/Containerfile "$stage/Containerfile"
if [ -n "$stage_only" ]; then
  echo "staged the build context in $stage: docker build -t spacetime-drill $stage"
  exit 0
fi

version=$("$root/usr/local/bin/spacetime-drill" --version | awk '{print $2}')
tag_args=(--tag "spacetime-drill:$version" --tag spacetime-drill:latest)
for t in "${tags[@]}"; do tag_args+=(--tag "$t"); done
previous=$(buildah images --quiet --noheading spacetime-drill:latest 2>/dev/null || true)
buildah bud --quiet --layers=false "${tag_args[@]}" -f "$stage/Containerfile" "$stage" >/dev/null
# The image these tags named before, if nothing else names it now (buildah refuses to remove one that is still
# tagged or in use), so rebuilding in CI does not pile up untagged images.
[ -z "$previous" ] || buildah rmi "$previous" >/dev/null 2>&1 || true
echo "built spacetime-drill:$version ($(du -sh "$root" | cut -f1) staged from $binary)"
