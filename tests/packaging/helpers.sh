# shellcheck shell=bash
# shellcheck disable=SC2154   # logs, PID: the caller's globals
# Helpers of install_test.sh (sourced): messages and exits, processes by pid, mounts, bounded
# waits, loopback ports, TOML values. They use the caller's globals: logs (the log directory),
# PID (name -> pid of what the test started), MOUNTS (what it mounted, in order).

say() { echo "install_test: $*"; }
skip() { echo "install_test: SKIPPED: $*"; exit 77; }
# fail MESSAGE [LOG...]: prints the message and the tail of each log, exits 1.
fail() {
  local msg=$1 f
  shift
  echo "install_test: FAILED: $msg" >&2
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 30 "$f" >&2
  done
  exit 1
}

stop_pid() {   # stop_pid PID: SIGTERM, up to 10 s, then SIGKILL; returns the exit status
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

bind_mount() {   # bind_mount SOURCE TARGET
  mount --bind "$1" "$2"
  MOUNTS+=("$2")
}

unmount_all() {   # in reverse order
  local i m
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${MOUNTS[$i]}
    if mountpoint -q "$m" 2>/dev/null; then
      umount "$m" 2>/dev/null || umount -l "$m"
    fi
  done
  MOUNTS=()
}

# wait_until DESCRIPTION TIMEOUT_S NAME CMD...: polls CMD every 0.2 s; fails after TIMEOUT_S, or
# at once when process NAME (if not empty) has exited.
wait_until() {
  local desc=$1 timeout=$2 name=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if [ -n "$name" ] && ! kill -0 "${PID[$name]}" 2>/dev/null; then
      fail "$desc: $name exited" "$logs/$name.log"
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "$desc: not within ${timeout} s" ${name:+"$logs/$name.log"}
    sleep 0.2
  done
}

# Ports: free 127.0.0.1 ports below the ephemeral range.
declare -A TAKEN=()
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# pick_port VAR: sets VAR to a port nobody listens on and not handed out before.
pick_port() {
  local p i
  for ((i = 0; i < 500; i++)); do
    p=$((20000 + RANDOM % 12000))
    [ -z "${TAKEN[$p]:-}" ] || continue
    port_open "$p" && continue
    if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
      continue
    fi
    TAKEN[$p]=1
    printf -v "$1" '%s' "$p"
    return 0
  done
  fail "no free 127.0.0.1 port found in 20000-31999"
}

# toml_get FILE SECTION KEY: the value of a flat "key = value" line, unquoted.
toml_get() {
  awk -v sec="[$2]" -v key="$3" '
    /^[ \t]*\[/ { insec = ($1 == sec); next }
    insec && $1 == key && $2 == "=" {
      v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*#.*$/, "", v); gsub(/^"|"$/, "", v)
      print v; exit
    }' "$1"
}
