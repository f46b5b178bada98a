#!/usr/bin/env bash
# Benchmarks scaler's JPEG path against vipsthumbnail on a 4000x3000
# photo-like JPEG (quality 85, generated, never committed) resized to 640
# wide at quality 80. Usage: bench/scaler/run.sh [RUNS]   (default 20)
# Prints go test benchmark lines (p50-ms wall, cpu-ms/op, luma psnr-dB and
# ssim against x/image/draw Catmull-Rom), then per-process medians (wall and
# CPU) of vipsthumbnail and of scaler's own thumb binary run alternately,
# then the fidelity of both outputs. When libvips' headers are installed
# (Debian libvips-dev), also benchmarks libvips in process through scaler's
# FilterVips (build tag vips). Installs libvips-tools (Debian) when vipsthumbnail is missing.
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

if pkg-config --exists vips 2>/dev/null; then
	echo "# libvips in process (cgo, build tag vips), ${runs} runs each"
	go test -tags vips ./scaler -run '^$' -bench 'ResizeJPEG/(default|vips)$' -benchtime "${runs}x" 2>/dev/null | grep -E '^Benchmark'
else
	echo "# libvips in process skipped: apt-get install libvips-dev to run it"
fi

echo "# per process, median of ${runs}, alternating"
"$dir/thumb" procs -n "$runs" -o "$dir" "$dir/photo.jpg"
echo "# fidelity of the q80 outputs"
"$dir/thumb" score -src "$dir/photo.jpg" "$dir/vips.jpg" "$dir/go.jpg" | sed "s|$dir/||"
