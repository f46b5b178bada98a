#!/usr/bin/env bash
# Compares the upload ingest of two or more server binaries by
# alternating them: each round uploads the same 64 MiB file (its first
# bytes changed) to every server in turn, the order rotating between
# rounds, then times dd+fsync once. Runs of one kind spread widely on a
# small virtual machine (a PUT takes 77 ms one time and 150 the next), so
# servers measured side by side in the same rounds tell a change apart
# where medians of separate runs do not.
#
#   bash bench/server/ab.sh OLD_SERVER NEW_SERVER [MORE...]
#
# Knobs (environment):
#
#   ROUNDS=20        timed rounds, after 2 untimed ones
#   MODE=put         put (curl -T), protobuf or json (the upload program)
#   UPLOAD_MIB=64    file size
#   UPLOAD_BIN=FILE  the upload program; built from this tree when unset
#   UPLOAD_BINS="A B ..."  one upload program per server, in order: to
#                    compare upload programs, name the same server twice
#   BENCH_TMP=DIR    where the temporary directory goes
#
# As run.sh does, it drops the clean page cache before each timed upload
# (when root) and reads the client programs back in. Everything runs on
# loopback ports in a temporary directory that is removed on exit.
set -euo pipefail

ROUNDS=${ROUNDS:-20}
MODE=${MODE:-put}
UPLOAD_MIB=${UPLOAD_MIB:-64}

if [ $# -lt 2 ]; then
  echo "usage: $0 SERVER_BINARY SERVER_BINARY [...]" >&2
  exit 2
fi
case $MODE in put | protobuf | json) ;; *)
  echo "MODE must be put, protobuf or json" >&2
  exit 2
  ;;
esac
servers=()
for s in "$@"; do
  servers+=("$(realpath "$s")")
done

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. bench/lib.sh
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/metacdn-ab.XXXXXX")
big=$tmp/big.bin
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  big=$(mktemp /dev/shm/metacdn-ab.XXXXXX)
fi
pids=()
cleanup() {
  stop_all
  rm -rf "$tmp"
  rm -f "$big"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

upload=${UPLOAD_BIN:-}
if [ -z "$upload" ] && [ "$MODE" != put ]; then
  CGO_ENABLED=0 go build -o "$tmp/upload" ./cmd/upload
  upload=$tmp/upload
fi

uploads=()
for i in "${!servers[@]}"; do
  uploads+=("$upload")
done
if [ -n "${UPLOAD_BINS:-}" ]; then
  read -r -a uploads <<<"$UPLOAD_BINS"
  if [ ${#uploads[@]} -ne ${#servers[@]} ]; then
    echo "UPLOAD_BINS names ${#uploads[@]} programs for ${#servers[@]} servers" >&2
    exit 2
  fi
fi

ports=()
for i in "${!servers[@]}"; do
  port=$(free_port)
  "${servers[$i]}" --id "ab$i" --listen "127.0.0.1:$port" --data "$tmp/data$i" --log-level warn 2>"$tmp/server$i.log" &
  pids+=($!)
  ports+=("$port")
  wait_http "http://127.0.0.1:$port/healthz"
done

client_files=("${uploads[@]}")
while read -r f; do
  client_files+=("$f")
done < <(client_programs)
drop_caches() {
  if [ -w /proc/sys/vm/drop_caches ]; then
    sync
    echo 1 >/proc/sys/vm/drop_caches
    cat "${client_files[@]}" >/dev/null 2>&1 || true
  fi
}

now_ns() { date +%s%N; }
head -c "$((UPLOAD_MIB << 20))" /dev/urandom >"$big"
n=${#servers[@]}
echo "ab: $ROUNDS rounds of $MODE, $UPLOAD_MIB MiB, $n servers" >&2
for r in $(seq -1 "$ROUNDS"); do
  for j in $(seq 0 $((n - 1))); do
    k=$(((j + r + n) % n))
    printf '%08d-%04d' "$((r + 10))" "$k" | dd of="$big" conv=notrunc status=none
    drop_caches
    url=http://127.0.0.1:${ports[$k]}
    t0=$(now_ns)
    case $MODE in
      put) curl -fsS -o /dev/null -T "$big" "$url/v1/objects/ab/r$r" ;;
      *) "${uploads[$k]}" --server "$url" --encoding "$MODE" --quiet --key "ab/r$r" "$big" >/dev/null ;;
    esac
    t1=$(now_ns)
    [ "$r" -ge 1 ] && echo "$(((t1 - t0) / 1000))" >>"$tmp/t$k"
  done
  if [ "$r" -ge 1 ]; then
    drop_caches
    t0=$(now_ns)
    dd if="$big" of="$tmp/dd.out" bs=1M conv=fsync status=none
    t1=$(now_ns)
    rm -f "$tmp/dd.out"
    echo "$(((t1 - t0) / 1000))" >>"$tmp/dd"
  fi
done

# median and quartiles of microsecond counts, printed in ms
stats() {
  sort -n | awk '{a[NR] = $1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "%.1f %.1f %.1f\n", m / 1000, a[int((NR + 3) / 4)] / 1000, a[int((3 * NR + 3) / 4)] / 1000 }'
}
read -r ddm _ _ < <(stats <"$tmp/dd")
echo "| server | median ms | quartiles ms | vs dd+fsync ($ddm ms) |"
echo "|---|---|---|---|"
for k in $(seq 0 $((n - 1))); do
  read -r m q1 q3 < <(stats <"$tmp/t$k")
  awk -v m="$m" -v q1="$q1" -v q3="$q3" -v d="$ddm" -v name="${servers[$k]}${UPLOAD_BINS:+ with ${uploads[$k]}}" \
    'BEGIN { printf "| %s | %.1f | %.1f–%.1f | %.2fx |\n", name, m, q1, q3, d / m }'
done
