#!/usr/bin/env bash
# make lambda: build certaudit for AWS Lambda's provided.al2023 runtime and package it as
# target/lambda/bootstrap.zip (the binary, stripped, named bootstrap). The runtime runs Amazon
# Linux 2023 on x86_64 with glibc 2.34, so the build refuses a binary that needs a newer glibc
# symbol version (linking against a newer glibc can pull one in) or is not x86_64.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_GLIBC=2.34
out=target/lambda
if [ "$(uname -m)" != "x86_64" ]; then
  echo "make lambda: this machine is $(uname -m); build on x86_64 (the function is x86_64)" >&2
  exit 1
fi
cargo build --release --locked --bin certaudit
mkdir -p "$out"
rm -f "$out/bootstrap" "$out/bootstrap.zip"
cp target/release/certaudit "$out/bootstrap"
strip "$out/bootstrap"
machine=$(readelf -h "$out/bootstrap" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')
case "$machine" in
  *X86-64*) ;;
  *) echo "make lambda: bootstrap is built for '$machine', not x86-64" >&2; exit 1 ;;
esac
needed=$(objdump -T "$out/bootstrap" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
if [ "$(printf '%s\n%s\n' "$needed" "$MAX_GLIBC" | sort -V | tail -1)" != "$MAX_GLIBC" ]; then
  echo "make lambda: bootstrap needs GLIBC_$needed; provided.al2023 has $MAX_GLIBC." >&2
  echo "  Build on a system with glibc <= $MAX_GLIBC (Amazon Linux 2023, Debian 11)," >&2
  echo "  or with cargo-zigbuild: cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.34" >&2
  objdump -T "$out/bootstrap" | grep "GLIBC_$needed" | head -5 >&2
  exit 1
fi
(cd "$out" && python3 -m zipfile -c bootstrap.zip bootstrap)
python3 - "$out/bootstrap.zip" <<'PY'
import stat, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    info = z.getinfo("bootstrap")
    mode = info.external_attr >> 16
    assert z.namelist() == ["bootstrap"], z.namelist()
    assert mode & stat.S_IXUSR, f"bootstrap is not executable in the zip ({oct(mode)})"
PY
size=$(du -h "$out/bootstrap.zip" | cut -f1)
echo "make lambda: $out/bootstrap.zip ($size): x86-64, highest glibc symbol GLIBC_$needed (<= $MAX_GLIBC)"
