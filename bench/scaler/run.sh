#!/usr/bin/env bash
# Benchmarks scaler's JPEG path against vipsthumbnail on a 4000x3000
# photo-like JPEG (quality 85, generated, never committed) resized to 640
# wide at quality 80. Usage: bench/scaler/run.sh [RUNS]   (default 20)
# Prints go test benchmark lines (p50-ms, luma psnr-dB and ssim against
# x/image/draw Catmull-Rom), then per-process medians of vipsthumbnail and
# of scaler's own thumb binary run alternately, then the fidelity of both
# outputs. Installs libvips-tools (Debian) when vipsthumbnail is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}

if ! command -v vipsthumbnail >/dev/null; then
	apt-get update -qq && apt-get install -y -qq libvips-tools >/dev/null
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/thumb" ./bench/scaler/thumb
"$dir/thumb" gen -o "$dir/photo.jpg"

echo "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(vips --version)"
echo "# go test benchmarks, ${runs} runs each"
go test ./scaler -run '^$' -bench 'ResizeJPEG|DecodeJPEG|JPEGMargin' -benchtime "${runs}x" | grep -E '^Benchmark'

# Per process, alternating so that load from elsewhere hits both alike.
now() { date +%s%N; }
: >"$dir/vips.ms"
: >"$dir/go.ms"
for _ in $(seq "$runs"); do
	t=$(now)
	vipsthumbnail "$dir/photo.jpg" --size 640x -o "$dir/vips.jpg[Q=80]"
	echo $((($(now) - t) / 1000)) >>"$dir/vips.ms"
	t=$(now)
	"$dir/thumb" resize -w 640 -q 80 -o "$dir/go.jpg" "$dir/photo.jpg"
	echo $((($(now) - t) / 1000)) >>"$dir/go.ms"
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {m=v[int((NR+1)/2)]; printf "%.1f", m/1000}'; }
vips=$(median "$dir/vips.ms")
gosc=$(median "$dir/go.ms")
echo "# per process, median of ${runs}"
echo "vipsthumbnail	p50-ms ${vips}"
echo "scaler thumb	p50-ms ${gosc}"
awk -v a="$gosc" -v b="$vips" 'BEGIN {printf "ratio scaler/vipsthumbnail %.2f\n", a/b}'
echo "# fidelity of the q80 outputs"
"$dir/thumb" score -src "$dir/photo.jpg" "$dir/vips.jpg" "$dir/go.jpg" | sed "s|$dir/||"
