# Helpers shared by the benchmark scripts (bench/server/run.sh,
# bench/server/ab.sh, router/bench/run.sh); source it, do not run it.

# free_port prints a loopback port nothing listens on.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free port" >&2
  return 1
}

# wait_http URL waits until URL answers 2xx, for 10 s at most.
wait_http() {
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$1 did not come up" >&2
  return 1
}

# median prints the median of the numbers on standard input.
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# to_ms converts wrk's latency (850.00us, 1.23ms, 1.01s, 2.00m) to ms.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# stop_all kills the processes whose ids are in the array pids and waits
# for them.
stop_all() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
}

# client_programs prints curl, dd and the shared libraries they load:
# what a timed upload reads from disk when the page cache was dropped.
client_programs() {
  local prog p
  for prog in curl dd; do
    p=$(command -v "$prog")
    echo "$p"
    ldd "$p" 2>/dev/null | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
  done
}
