#!/usr/bin/env bash
# Benchmarks one metacdn server against nginx on this machine and prints
# markdown tables:
#
#   1. GET throughput and latency (wrk --latency) of a 10 KiB and a 1 MiB
#      object, from the server and from nginx (sendfile on) serving the same
#      bytes from files, same wrk settings, rounds interleaved.
#   2. Upload ingest of a 64 MiB file: raw PUT (curl -T), the upload program
#      with --encoding json and protobuf, against dd writing and fsyncing
#      the same bytes.
#
# Everything runs on loopback ports in a temporary directory that is
# removed on exit. Knobs (environment):
#
#   DURATION=10s  THREADS=1  CONNS=32  ROUNDS=3   wrk settings and rounds
#   UPLOAD_RUNS=9  UPLOAD_MIB=64                  ingest runs and size
#   NGINX_WORKERS=2                               nginx worker_processes
#   SERVER_LOG_LEVEL=warn                         the server's --log-level
#   SKIP_GET=1 / SKIP_UPLOAD=1                    run one half only
#   DROP_CACHES=0                                 keep the page cache between
#                                                 upload runs (see drop_caches)
#   BENCH_TMP=DIR                                 where the temp dir goes
#   SERVER_BIN=FILE                               a server binary to measure
#                                                 instead of building one
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-1}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
UPLOAD_RUNS=${UPLOAD_RUNS:-9}
UPLOAD_MIB=${UPLOAD_MIB:-64}
NGINX_WORKERS=${NGINX_WORKERS:-2}
SERVER_LOG_LEVEL=${SERVER_LOG_LEVEL:-warn}

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. bench/lib.sh

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/metacdn-bench.XXXXXX")
# nginx workers drop to nobody when started as root: they must reach the
# files.
chmod 755 "$tmp"
pids=()
cleanup() {
  stop_all
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$*" >&2; }

minimum() { sort -g | head -1; }
maximum() { sort -g | tail -1; }

# cpu_ticks PID... prints the user+system CPU clock ticks the processes
# and their children (nginx's workers) have used.
cpu_ticks() {
  local all=() p
  for p in "$@"; do
    all+=("$p")
    all+=($(ps -o pid= --ppid "$p" 2>/dev/null || true))
  done
  for p in "${all[@]}"; do
    # Fields after the command name, which may hold spaces: utime is the
    # 12th, stime the 13th.
    sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true
  done | awk '{t += $12 + $13} END {print t + 0}'
}
clk_tck=$(getconf CLK_TCK)

log "building server and upload"
mkdir -p "$tmp/bin"
# Built as the Taskfile builds releases: static, without cgo.
CGO_ENABLED=0 go build -o "$tmp/bin/" ./cmd/server ./cmd/upload
if [ -n "${SERVER_BIN:-}" ]; then
  cp "$SERVER_BIN" "$tmp/bin/server"
fi

# --- the server ---
sport=$(free_port)
surl="http://127.0.0.1:$sport"
"$tmp/bin/server" --id bench --listen "127.0.0.1:$sport" --data "$tmp/data" \
  --log-level "$SERVER_LOG_LEVEL" 2>"$tmp/server.log" &
server_pid=$!
pids+=($server_pid)
wait_http "$surl/healthz"

# --- nginx: a private config, not the system service ---
nport=$(free_port)
nurl="http://127.0.0.1:$nport"
mkdir -p "$tmp/nginx/logs" "$tmp/nginx/www/v1/objects/bench"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  # wrk keeps its connections for the whole run, as Go's server allows.
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nport;
    root $tmp/nginx/www;
  }
}
EOF
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/logs/stderr.log" &
nginx_pid=$!
pids+=($nginx_pid)

# --- the objects: the same bytes in the server and in nginx's files ---
sizes=(10240 1048576)
names=(10KiB 1MiB)
for i in "${!sizes[@]}"; do
  f="$tmp/nginx/www/v1/objects/bench/${names[$i]}.bin"
  head -c "${sizes[$i]}" /dev/urandom >"$f"
  chmod 644 "$f"
  curl -fsS -o /dev/null -T "$f" "$surl/v1/objects/bench/${names[$i]}.bin"
done
wait_http "$nurl/v1/objects/bench/10KiB.bin"
for n in "${names[@]}"; do
  for u in "$surl" "$nurl"; do
    curl -fsS -o "$tmp/check" "$u/v1/objects/bench/$n.bin"
    cmp -s "$tmp/check" "$tmp/nginx/www/v1/objects/bench/$n.bin" || { echo "$u served wrong bytes for $n" >&2; exit 1; }
  done
done

cores=$(nproc)
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "## Server benchmark"
echo
what="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
[ -n "${SERVER_BIN:-}" ] && what="server binary $SERVER_BIN"
echo "- $(date -u +%Y-%m-%d), $what, $cores cores ($cpu), $(go version | awk '{print $3}'), $("$NGINX" -v 2>&1 | sed 's/.*: //')"
echo "- server: \`--log-level $SERVER_LOG_LEVEL\`, GOMAXPROCS default ($cores); nginx: worker_processes $NGINX_WORKERS, sendfile on, access_log off"
echo "- wrk runs on the same $cores cores as the server under test; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -z "${SKIP_GET:-}" ]; then
  log "GET: wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS rounds"
  # One warm-up each, so neither side pays first-touch costs in round 1.
  for n in "${names[@]}"; do
    for u in "$surl" "$nurl"; do
      wrk -t"$THREADS" -c"$CONNS" -d2s "$u/v1/objects/bench/$n.bin" >/dev/null
    done
  done
  for r in $(seq "$ROUNDS"); do
    for n in "${names[@]}"; do
      # Alternate who goes first, so neither always runs on a hotter machine.
      if [ $((r % 2)) -eq 1 ]; then order="server nginx"; else order="nginx server"; fi
      for who in $order; do
        u=$surl pid=$server_pid
        [ "$who" = nginx ] && u=$nurl pid=$nginx_pid
        out="$tmp/wrk.$who.$n.$r"
        t0=$(cpu_ticks "$pid")
        wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$u/v1/objects/bench/$n.bin" >"$out"
        t1=$(cpu_ticks "$pid")
        if grep -q 'Non-2xx' "$out"; then
          echo "wrk got error answers from $who:" >&2
          cat "$out" >&2
          exit 1
        fi
        # Timeouts (wrk's are 2 s) are load, not failures: note them.
        if grep -q 'Socket errors' "$out"; then
          echo "$who $n round $r: $(grep 'Socket errors' "$out" | sed 's/^ *//')" >>"$tmp/notes"
        fi
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
        p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
        p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
        reqs=$(awk '/requests in/ {print $1}' "$out")
        cpu=$(awk -v t="$((t1 - t0))" -v hz="$clk_tck" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
        echo "$rps $p50 $p99 $cpu" >>"$tmp/get.$who.$n"
        [ "$who" = server ] && srv_rps=$rps || ngx_rps=$rps
        log "  round $r $n $who: $rps req/s, p50 $p50 ms, p99 $p99 ms, $cpu CPU-us/req"
      done
      awk -v s="$srv_rps" -v g="$ngx_rps" 'BEGIN {print s / g}' >>"$tmp/ratio.$n"
    done
  done

  echo
  echo "### GET: \`wrk -t$THREADS -c$CONNS -d$DURATION --latency\`, median of $ROUNDS rounds"
  echo
  echo "| object | server req/s (min–max) | nginx req/s (min–max) | server/nginx | server p50 / p99 ms | nginx p50 / p99 ms | CPU µs/req server / nginx | server MiB/s |"
  echo "|---|---|---|---|---|---|---|---|"
  for i in "${!names[@]}"; do
    n=${names[$i]}
    s=$tmp/get.server.$n
    g=$tmp/get.nginx.$n
    srps=$(cut -d' ' -f1 "$s" | median)
    grps=$(cut -d' ' -f1 "$g" | median)
    awk -v n="$n" -v size="${sizes[$i]}" -v ratio="$(median <"$tmp/ratio.$n")" \
      -v srps="$srps" -v smin="$(cut -d' ' -f1 "$s" | minimum)" -v smax="$(cut -d' ' -f1 "$s" | maximum)" \
      -v grps="$grps" -v gmin="$(cut -d' ' -f1 "$g" | minimum)" -v gmax="$(cut -d' ' -f1 "$g" | maximum)" \
      -v s50="$(cut -d' ' -f2 "$s" | median)" -v s99="$(cut -d' ' -f3 "$s" | median)" \
      -v g50="$(cut -d' ' -f2 "$g" | median)" -v g99="$(cut -d' ' -f3 "$g" | median)" \
      -v scpu="$(cut -d' ' -f4 "$s" | median)" -v gcpu="$(cut -d' ' -f4 "$g" | median)" \
      'BEGIN { printf "| %s | %.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) | %.2fx | %.2f / %.2f | %.2f / %.2f | %.0f / %.0f | %.0f |\n",
        n, srps, smin, smax, grps, gmin, gmax, ratio, s50, s99, g50, g99, scpu, gcpu, srps * size / 1048576 }'
  done
  echo
  echo "server/nginx is the median of each round's ratio (the two ran back to back); CPU µs/req is"
  echo "the user+system time of the server process, or of nginx's master and workers, per request."
  if [ -s "$tmp/notes" ]; then
    echo "wrk socket errors:"
    sed 's/^/- /' "$tmp/notes"
  fi
fi

# drop_caches writes back and drops clean page cache before a timed
# upload. On this kind of virtual machine, writing into page cache that
# the guest has not used before costs several times more than reusing
# freed pages (measured: dd of 64 MiB with fsync went from about 40 to
# 190 ms once 1.3 GB of files were kept). The server keeps what it
# ingests while dd's file is deleted after each run, so without this the
# baseline reuses its pages and the server keeps growing the cache: every
# run, whichever program, starts from the same state instead.
#
# Dropping the cache also drops the clients' programs: curl and its 30-odd
# libraries then load from disk inside the timed run (about 40 ms more on
# a 64 MiB PUT, measured against curl's own time_total), so they are read
# back into the cache before the clock starts.
drop_caches() {
  if [ "${DROP_CACHES:-1}" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then
    sync
    echo 1 >/proc/sys/vm/drop_caches
    cat "${client_files[@]}" >/dev/null 2>&1 || true
  fi
}
client_files=("$tmp/bin/upload")
while read -r f; do
  client_files+=("$f")
done < <(client_programs)

if [ -z "${SKIP_UPLOAD:-}" ]; then
  log "uploads: $UPLOAD_RUNS runs of $UPLOAD_MIB MiB each"
  if [ "${DROP_CACHES:-1}" = 1 ] && [ ! -w /proc/sys/vm/drop_caches ]; then
    log "  (not root: page cache not dropped between runs; see drop_caches)"
  fi
  # The file to send lives in memory (tmpfs), which drop_caches leaves
  # alone: every mode reads it without touching the disk.
  big="$tmp/big.bin"
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    big=$(mktemp /dev/shm/metacdn-bench.XXXXXX)
    trap 'rm -f "$big"; cleanup' EXIT
  fi
  head -c "$((UPLOAD_MIB << 20))" /dev/urandom >"$big"
  modes=(fsync put protobuf json)
  for r in $(seq "$UPLOAD_RUNS"); do
    for mode in "${modes[@]}"; do
      # New bytes each time: the server stores a blob once per digest, so
      # a repeat of the same file would not be written again.
      printf '%08d-%-16s' "$r" "$mode" | dd of="$big" conv=notrunc status=none
      drop_caches
      t0=$(date +%s%N)
      case $mode in
        fsync) dd if="$big" of="$tmp/fsync.out" bs=1M conv=fsync status=none ;;
        put) curl -fsS -o /dev/null -T "$big" "$surl/v1/objects/up/put-$r" ;;
        protobuf | json) "$tmp/bin/upload" --server "$surl" --encoding "$mode" --quiet --key "up/$mode-$r" "$big" >/dev/null ;;
      esac
      t1=$(date +%s%N)
      rm -f "$tmp/fsync.out"
      mibs=$(awk -v b="$UPLOAD_MIB" -v ns="$((t1 - t0))" 'BEGIN {printf "%.1f", b / (ns / 1e9)}')
      echo "$mibs" >>"$tmp/up.$mode"
      log "  run $r $mode: $mibs MiB/s"
    done
  done
  base=$(median <"$tmp/up.fsync")
  echo
  echo "### Upload ingest of a $UPLOAD_MIB MiB file, $UPLOAD_RUNS runs"
  echo
  echo "| how | median MiB/s | min | max | vs dd+fsync |"
  echo "|---|---|---|---|---|"
  for mode in "${modes[@]}"; do
    case $mode in
      fsync) label="\`dd bs=1M conv=fsync\` to a file (baseline)" ;;
      put) label="raw \`PUT\` (\`curl -T\`)" ;;
      protobuf) label="\`upload --encoding protobuf\`" ;;
      json) label="\`upload --encoding json\`" ;;
    esac
    awk -v l="$label" -v m="$(median <"$tmp/up.$mode")" -v lo="$(minimum <"$tmp/up.$mode")" \
      -v hi="$(maximum <"$tmp/up.$mode")" -v b="$base" \
      'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.2fx |\n", l, m, lo, hi, m / b }'
  done
fi
