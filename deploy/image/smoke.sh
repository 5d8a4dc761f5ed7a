#!/usr/bin/env bash
# Check a built spacetime-drill image (default spacetime-drill:latest) the way a user runs it, with buildah alone:
#   1. its contents: the binary, the CA bundle, passwd/group, /tmp, the home directory (and for a dynamic build the
#      shared libraries it links), nothing else; non-root user 65532; spacetime-drill as the entrypoint;
#   2. `--version` inside it;
#   3. the CI gate (scenarios/ci-gate.toml) inside it as the default user, judged, its reports written to the host;
#   4. a tmpfs drill without CAP_SYS_ADMIN: exit 2 naming the capability; with `--user 0 --cap-add SYS_ADMIN`, a
#      short one that mounts its tmpfs and completes.
# `buildah run --isolation chroot` runs the containers: it needs no cgroup setup (this CI machine's crun refuses
# cgroups in hybrid mode) and shares the host's network, so the drill's own simulator is on loopback as usual.
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${1:-spacetime-drill:latest}
fail() { echo "image check FAILED: $*" >&2; exit 1; }

ctr=$(buildah from --pull-never "$image")
work=$(mktemp -d /tmp/spacetime-drill-smoke.XXXXXX)
cleanup() { buildah umount "$ctr" >/dev/null 2>&1 || true; buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
run() { buildah run --isolation chroot "$@"; }

# 1. Contents and configuration.
config=$(buildah inspect --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}' "$image")
[ "$config" = '65532:65532 [/usr/local/bin/spacetime-drill]' ] || fail "user and entrypoint: $config"
root=$(buildah mount "$ctr")
unexpected=$(cd "$root" && find . -type f -o -type l | grep -vxE '\./usr/local/bin/spacetime-drill|\./etc/(passwd|group|hosts|hostname|resolv\.conf)|\./etc/ssl/certs/ca-certificates\.crt|\./(usr/)?lib(64|/x86_64-linux-gnu)?/[^/]+\.so[.0-9]*' || true)
[ -z "$unexpected" ] || fail "files the image does not need: $unexpected"
[ "$(stat -c '%u %a' "$root/home/nonroot")" = "65532 755" ] || fail "home: $(stat -c '%u %a' "$root/home/nonroot")"
[ "$(stat -c '%u %a' "$root/home")" = "0 755" ] || fail "/home: $(stat -c '%u %a' "$root/home")"
[ "$(stat -c '%a' "$root/tmp")" = "1777" ] || fail "/tmp mode $(stat -c '%a' "$root/tmp")"
echo "image contents: $(du -sh "$root" | cut -f1), user 65532, entrypoint spacetime-drill"
buildah umount "$ctr" >/dev/null

# 2. --version.
version=$(run "$ctr" -- spacetime-drill --version) || fail "--version did not run"
echo "in the image: $version"

# 3. The CI gate, as the image's default (non-root) user, reports on a host directory it may write.
mkdir -p "$work/out" && chown 65532:65532 "$work/out"
set +e
run -v "$PWD/scenarios:/scenarios:ro" -v "$work/out:/out" "$ctr" -- \
  spacetime-drill run /scenarios/ci-gate.toml --format json,junit,md --out /out/gate --quiet >"$work/gate.log" 2>&1
code=$?
set -e
cat "$work/gate.log"
# Exit 0 or 1 is a judged run (whether this machine's load let the simulator pass is the gate's business, checked by
# the test suite); 2 or anything else means the drill did not run in the image.
[ "$code" -le 1 ] || fail "the CI gate exited $code inside the image"
[ -s "$work/out/gate/junit.xml" ] && [ -s "$work/out/gate/summary.md" ] || fail "the gate wrote no junit.xml/summary.md"
grep -q '"status": *"completed"' "$work/out/gate/report.json" || fail "report.json does not say completed"
echo "CI gate in the image: exit $code, $(grep -m1 "^\*\*" "$work/out/gate/summary.md")"

# 4. The capability tmpfs drills need.
set +e
run -v "$PWD/scenarios:/scenarios:ro" "$ctr" -- spacetime-drill run /scenarios/disk-exhaustion.toml --quiet \
  >"$work/nocap.log" 2>&1
code=$?
set -e
[ "$code" = 2 ] && grep -q CAP_SYS_ADMIN "$work/nocap.log" || fail "without CAP_SYS_ADMIN: exit $code, $(cat "$work/nocap.log")"
echo "tmpfs drill without the capability: exit 2, $(grep -o 'needs the CAP_SYS_ADMIN capability' "$work/nocap.log")"
mkdir -p "$work/tmpfs"
cat >"$work/tmpfs/short.toml" <<'TOML'
description = "the data filesystem mounted in the container, 3 s of light load"
[sim]
data_fs_mib = 8
[load]
rate = 20
[[phase]]
name = "only"
duration = "3s"
TOML
# This working container keeps its files between runs, so the gate above left user 65532's journal in its HOME; a
# journal another user owns is refused (as ssh refuses such keys), so root keeps its own, as a fresh container would.
run --user 0:0 --cap-add CAP_SYS_ADMIN -e SPACETIME_DRILL_JOURNAL=/tmp/root/journal.jsonl -v "$work/tmpfs:/drill" "$ctr" -- \
  spacetime-drill run /drill/short.toml --quiet --out /drill/out >"$work/cap.log" 2>&1 || true
grep -q '"status": *"completed"' "$work/tmpfs/out/report.json" 2>/dev/null ||
  fail "with --user 0 --cap-add SYS_ADMIN the tmpfs drill did not complete: $(cat "$work/cap.log")"
echo "tmpfs drill with --user 0 --cap-add SYS_ADMIN: completed"
echo "image check passed: $image"
