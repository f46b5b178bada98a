#!/usr/bin/env bash
# Measures what the routing proxy costs on this machine and compares it
# with nginx proxy_pass in front of the same server. Prints a markdown
# table of requests/s (wrk -c CONNS) and median latency (wrk -c 1) for a
# 10 KiB and a 1 MiB object, fetched:
#
#   direct  from one metacdn server
#   nginx   through nginx proxy_pass (HTTP/1.1 keepalive upstream pool)
#   proxy   through cmd/proxy (--policy network) in front of the server
#
# Everything runs on loopback ports in a temporary directory removed on
# exit; rounds are interleaved so no side always runs on a hotter machine.
#   base    through cmd/proxy built at git revision BASE_REV, if set (an
#           A/B comparison of two proxies in the same run)
#
# Knobs (environment): DURATION=5s THREADS=1 CONNS=32 ROUNDS=3
# NGINX_WORKERS=1 BENCH_TMP=DIR BASE_REV=REV.
set -euo pipefail

DURATION=${DURATION:-5s}
THREADS=${THREADS:-1}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
NGINX_WORKERS=${NGINX_WORKERS:-1}

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

tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/metacdn-proxy-bench.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
  stop_all
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$*" >&2; }

log "building server and proxy"
mkdir -p "$tmp/bin"
go build -o "$tmp/bin/" ./cmd/server ./cmd/proxy
if [ -n "${BASE_REV:-}" ]; then
  log "building the proxy at $BASE_REV"
  mkdir -p "$tmp/base-src"
  git archive "$BASE_REV" | tar -x -C "$tmp/base-src"
  (cd "$tmp/base-src" && go build -o "$tmp/bin/proxy-base" ./cmd/proxy)
fi

sport=$(free_port)
surl="http://127.0.0.1:$sport"
"$tmp/bin/server" --id bench --listen "127.0.0.1:$sport" --data "$tmp/data" --provider aws \
  --log-level warn 2>"$tmp/server.log" &
pids+=($!)
server_pid=$!
wait_http "$surl/healthz"

nport=$(free_port)
nurl="http://127.0.0.1:$nport"
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream cdn {
    server 127.0.0.1:$sport;
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://cdn;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
EOF
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/logs/stderr.log" &
pids+=($!)
nginx_pid=$!

pport=$(free_port)
purl="http://127.0.0.1:$pport"
"$tmp/bin/proxy" --listen "127.0.0.1:$pport" --server "$surl" --policy network --log-level warn 2>"$tmp/proxy.log" &
pids+=($!)
proxy_pid=$!

bport= burl= base_pid=
if [ -n "${BASE_REV:-}" ]; then
  bport=$(free_port)
  burl="http://127.0.0.1:$bport"
  "$tmp/bin/proxy-base" --listen "127.0.0.1:$bport" --server "$surl" --policy network --log-level warn 2>"$tmp/proxy-base.log" &
  pids+=($!)
  base_pid=$!
fi

sizes=(10240 1048576)
names=(10KiB 1MiB)
for i in "${!sizes[@]}"; do
  head -c "${sizes[$i]}" /dev/urandom >"$tmp/${names[$i]}.bin"
  curl -fsS -o /dev/null -T "$tmp/${names[$i]}.bin" "$surl/v1/objects/bench/${names[$i]}.bin"
done
wait_http "$nurl/v1/objects/bench/10KiB.bin"
wait_http "$purl/v1/objects/bench/10KiB.bin"
[ -z "$burl" ] || wait_http "$burl/v1/objects/bench/10KiB.bin"
for n in "${names[@]}"; do
  for u in "$surl" "$nurl" "$purl" $burl; do
    curl -fsS -o "$tmp/check" "$u/v1/objects/bench/$n.bin"
    cmp -s "$tmp/check" "$tmp/$n.bin" || { echo "$u served wrong bytes for $n" >&2; exit 1; }
  done
done

url_of() { case $1 in direct) echo "$surl" ;; nginx) echo "$nurl" ;; proxy) echo "$purl" ;; base) echo "$burl" ;; esac; }

# pids_of WHO: the processes whose CPU time a run of WHO is charged: the
# server for direct, nginx's master and workers, the proxy.
pids_of() {
  case $1 in
    direct) echo "$server_pid" ;;
    nginx) echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')" ;;
    proxy) echo "$proxy_pid" ;;
    base) echo "$base_pid" ;;
  esac
}

# cpu_ticks PID...: user+system CPU time in clock ticks. CPU time does not
# depend on what else the machine runs, unlike requests per second.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)
whos=(direct nginx proxy)
[ -z "$burl" ] || whos+=(base)

# run WHO NAME CONNS -> "rps p50 p99 cpu_us_per_request"
run() {
  local out="$tmp/wrk.out" before after
  # shellcheck disable=SC2046
  before=$(cpu_ticks $(pids_of "$1"))
  wrk -t"$THREADS" -c"$3" -d"$DURATION" --latency "$(url_of "$1")/v1/objects/bench/$2.bin" >"$out"
  # shellcheck disable=SC2046
  after=$(cpu_ticks $(pids_of "$1"))
  if grep -q 'Non-2xx' "$out"; then
    echo "wrk got error answers from $1:" >&2
    cat "$out" >&2
    exit 1
  fi
  local reqs
  reqs=$(awk '/requests in/ {print $1}' "$out")
  echo "$(awk '/^Requests\/sec:/ {print $2}' "$out") $(to_ms "$(awk '$1 == "50%" {print $2}' "$out")") $(to_ms "$(awk '$1 == "99%" {print $2}' "$out")") $(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
}

log "warm-up"
for n in "${names[@]}"; do for w in "${whos[@]}"; do wrk -t1 -c"$CONNS" -d1s "$(url_of "$w")/v1/objects/bench/$n.bin" >/dev/null; done; done

for r in $(seq "$ROUNDS"); do
  for n in "${names[@]}"; do
    order=("${whos[@]}")
    if [ $((r % 2)) -eq 0 ]; then
      order=()
      for ((k = ${#whos[@]} - 1; k >= 0; k--)); do order+=("${whos[$k]}"); done
    fi
    for w in "${order[@]}"; do
      read -r rps _ _ cpu <<<"$(run "$w" "$n" "$CONNS")"
      echo "$rps" >>"$tmp/rps.$w.$n"
      echo "$cpu" >>"$tmp/cpu.$w.$n"
      read -r _ l50 _ _ <<<"$(run "$w" "$n" 1)"
      echo "$l50" >>"$tmp/lat.$w.$n"
      log "  round $r $n $w: $rps req/s and $cpu CPU us/request at -c$CONNS; p50 $l50 ms at -c1"
    done
  done
done

cores=$(nproc)
echo "## Proxy benchmark"
echo
echo "- $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)${BASE_REV:+ (base: $BASE_REV)}, $cores cores, $(go version | awk '{print $3}'), $("$NGINX" -v 2>&1 | sed 's/.*: //')"
echo "- wrk -t$THREADS, $DURATION per run, $ROUNDS rounds interleaved, medians shown; wrk, nginx (worker_processes $NGINX_WORKERS), the proxy and the server share the $cores cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "- CPU us/req: user+system CPU time of the server (direct), of nginx (master and workers) or of the proxy (base: the proxy at BASE_REV) during the -c$CONNS run, per request"
echo "- vs nginx: the median over rounds of req/s against nginx's in the same round (runs of one round are seconds apart, so this moves less with the load than the ratio of medians)"
echo
echo "| object | via | req/s at -c$CONNS | vs direct | vs nginx | CPU us/req | p50 at -c1 (ms) | added p50 (ms) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for n in "${names[@]}"; do
  drps=$(median <"$tmp/rps.direct.$n")
  dlat=$(median <"$tmp/lat.direct.$n")
  for w in "${whos[@]}"; do
    rps=$(median <"$tmp/rps.$w.$n")
    lat=$(median <"$tmp/lat.$w.$n")
    cpu=$(median <"$tmp/cpu.$w.$n")
    vsn=$(paste "$tmp/rps.$w.$n" "$tmp/rps.nginx.$n" | awk '{print $1 / $2}' | median)
    awk -v n="$n" -v w="$w" -v r="$rps" -v d="$drps" -v l="$lat" -v dl="$dlat" -v c="$cpu" -v vn="$vsn" \
      'BEGIN {printf "| %s | %s | %.0f | %.2fx | %.2fx | %.1f | %.3f | %+.3f |\n", n, w, r, r / d, vn, c, l, l - dl}'
  done
done
