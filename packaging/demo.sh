#!/usr/bin/env bash
# CustomerJourneyData demo: one store chain on one machine, end to end.
#
#   packaging/demo.sh [--no-wait]
#
# On a fresh Debian bookworm machine (as root, or with sudo for the first run):
#   1. installs the build and run dependencies (packaging/install-deps.sh);
#   2. builds cjd-hub, cjd-agent and cjdctl into build/ (packaging/build.sh; incremental);
#   3. in a temporary directory, on free 127.0.0.1 ports: starts Mosquitto (anonymous, plain TCP,
#      loopback only: not the production shape, see device-configs/mosquitto.conf), provisions a hub and
#      three devices with cjdctl (POS terminals pos-1 and pos-2, loyalty kiosk kiosk-1), starts
#      cjd-hub and the three cjd-agent processes;
#   4. sends a few hundred realistic store events (sales, returns, loyalty scans) through the
#      agents' HTTP API and shows them arrive at the hub;
#   5. stops the broker for a while and keeps selling: the agents buffer in their SQLite outboxes;
#      brings the broker back and shows the catch-up, until the hub holds every accepted event;
#   6. registers a web shop as a collect source and posts a visit, a login and an online order for
#      a loyalty customer: shows the one profile the hub made of store and web, and the metrics;
#   7. creates a segment (store and web shoppers) and two offers with cjdctl; shows the kiosk
#      serving the segment's offer to that customer only, and still answering with the broker
#      stopped; shows the offer's impressions at the hub;
#   8. adds an analyst token and shows its masked view and a refused change, the audit log and its
#      check, and the Prometheus metrics and fleet alerts;
#   9. prints a summary with ready-to-paste curl lines, then keeps everything running until
#      Ctrl-C, and then stops what it started and removes the temporary directory.
#
# Options and environment:
#   --no-wait, CJD_DEMO_EXIT=1   exit after the summary (CI, tests)
#   CJD_KEEP=1                   keep the temporary directory (configs, databases, logs)
#   CJD_BUILD_DIR=DIR            build directory (default: build/ in the source tree)
#   CJD_DEMO_OUTAGE_S=N          seconds the broker stays down (default 10)
#   CJD_DEMO_CATCHUP_TIMEOUT_S=N bound on the catch-up after the outage (default 120)
#   CJD_DEMO_SKIP_DEPS=1         do not run install-deps.sh (the dependencies are known present)
#
# Exit status: 0 when every event an agent accepted reached the hub exactly once; 1 otherwise
# (with the tail of the relevant log); 2 on a usage error. Every wait is bounded.
set -euo pipefail
umask 077

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

WAIT=1
[ "${CJD_DEMO_EXIT:-0}" = "1" ] && WAIT=0
for arg in "$@"; do
  case "$arg" in
    --no-wait) WAIT=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CJD_BUILD_DIR:-$ROOT/build}
OUTAGE_S=${CJD_DEMO_OUTAGE_S:-10}
CATCHUP_TIMEOUT_S=${CJD_DEMO_CATCHUP_TIMEOUT_S:-120}
KEEP=${CJD_KEEP:-0}
for v in OUTAGE_S CATCHUP_TIMEOUT_S; do
  case "${!v}" in
    ''|*[!0-9]*) echo "demo.sh: CJD_DEMO_$v must be a number of seconds, not '${!v}'" >&2; exit 2 ;;
  esac
done

# ---------------------------------------------------------------------------------------------
# Output
if [ -t 1 ]; then
  BOLD=$'\e[1m'; DIM=$'\e[2m'; RED=$'\e[31m'; GREEN=$'\e[32m'; YELLOW=$'\e[33m'; CYAN=$'\e[36m'
  OFF=$'\e[0m'
else
  BOLD=''; DIM=''; RED=''; GREEN=''; YELLOW=''; CYAN=''; OFF=''
fi
STEP=0
PHASE_START=$SECONDS
TIMINGS=()
section() {
  if [ "$STEP" -gt 0 ]; then TIMINGS+=("$(printf '%5ss  %s' $((SECONDS - PHASE_START)) "$SECTION_NAME")"); fi
  STEP=$((STEP + 1)); SECTION_NAME=$1; PHASE_START=$SECONDS
  printf '\n%s== %d. %s ==%s\n' "$BOLD$CYAN" "$STEP" "$1" "$OFF"
}
info() { printf '   %s\n' "$*"; }
ok()   { printf '   %s[ok]%s %s\n' "$GREEN" "$OFF" "$*"; }
warn() { printf '   %s[warn]%s %s\n' "$YELLOW" "$OFF" "$*"; }

# die MESSAGE [LOG...]: the message, the tail of each LOG, then exit 1 (the EXIT trap cleans up).
die() {
  local log
  printf '\n%sdemo.sh: FAILED: %s%s\n' "$RED$BOLD" "$1" "$OFF" >&2
  shift
  for log in "$@"; do
    if [ -n "$log" ] && [ -s "$log" ]; then
      printf '%s--- last lines of %s ---%s\n' "$DIM" "$log" "$OFF" >&2
      tail -n 25 "$log" | sed 's/^/   | /' >&2
    fi
  done
  if [ -n "$T" ] && [ "$KEEP" != "1" ]; then
    printf 'Re-run with CJD_KEEP=1 to keep the configs and logs.\n' >&2
  fi
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Processes this script started; stopped in reverse order by the EXIT trap.
BUILD_LOG=""
declare -A PID=() LOG=() LOG2=()   # LOG2: a second log (Mosquitto's stderr)
T=""

# alive PID: running (a zombie child that has exited does not count).
alive() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [ "${s%% *}" != "Z" ]
}

# start_proc NAME LOGFILE CMD...: runs CMD in the background, output to LOGFILE, in a session of
# its own (setsid), so that Ctrl-C reaches only this script, which then stops everything in order.
start_proc() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null &
  PID[$name]=$!
  LOG[$name]=$log
}

# stop_proc NAME: SIGTERM, up to 10 s for a clean exit, then SIGKILL.
stop_proc() {
  local name=$1 pid=${PID[$1]:-} i
  [ -n "$pid" ] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      printf '   %s did not stop within 10 s; killing it\n' "$name" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  PID[$name]=""
}

CLEANED=0
cleanup() {
  local rc=$?
  [ "$CLEANED" = "1" ] && return
  CLEANED=1
  trap '' INT TERM   # finish cleaning up even on a second Ctrl-C
  local started=0 name
  for name in kiosk-1 pos-2 pos-1 hub mosquitto; do [ -n "${PID[$name]:-}" ] && started=1; done
  if [ "$started" = "1" ]; then
    printf '\n%s== stopping ==%s\n' "$BOLD$CYAN" "$OFF"
    for name in kiosk-1 pos-2 pos-1 hub mosquitto; do
      if [ -n "${PID[$name]:-}" ]; then stop_proc "$name"; info "stopped $name"; fi
    done
  fi
  if [ -n "$BUILD_LOG" ]; then rm -f "$BUILD_LOG"; fi
  if [ -n "$T" ] && [ -d "$T" ]; then
    if [ "$KEEP" = "1" ]; then
      info "kept $T (CJD_KEEP=1): configs, databases, logs in $T/logs"
    else
      rm -rf "$T"
      info "removed $T"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for DESCRIPTION TIMEOUT_S PROCESS_NAME CMD...: polls CMD every 0.2 s until it succeeds;
# fails when PROCESS_NAME (if not empty) exits or after TIMEOUT_S, with the process's log.
wait_for() {
  local desc=$1 timeout=$2 name=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if [ -n "$name" ] && ! alive "${PID[$name]}"; then
      die "$desc: $name exited" "${LOG[$name]}" "${LOG2[$name]:-}"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      if [ -n "$name" ]; then die "$desc: not within ${timeout} s" "${LOG[$name]}" "${LOG2[$name]:-}"; fi
      die "$desc: not within ${timeout} s"
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# Ports: free 127.0.0.1 ports below the ephemeral range, each used once.
declare -A TAKEN=()
port_free() {
  local p=$1
  [ -z "${TAKEN[$p]:-}" ] || return 1
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then return 1; fi   # someone listens
  if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
    return 1                                                            # bound, in use
  fi
  return 0
}
pick_port() {
  local var=$1 p i
  for ((i = 0; i < 500; i++)); do
    p=$((20000 + RANDOM % 12000))
    if port_free "$p"; then TAKEN[$p]=1; printf -v "$var" '%s' "$p"; return 0; fi
  done
  die "no free 127.0.0.1 port found in 20000-31999"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# TOML: the generated files are flat "key = value" tables, so awk is enough.
# toml_get FILE SECTION KEY: the value, unquoted.
toml_get() {
  awk -v sec="[$2]" -v key="$3" '
    /^[ \t]*\[/ { insec = ($1 == sec); next }
    insec && $1 == key && $2 == "=" {
      v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*#.*$/, "", v); gsub(/^"|"$/, "", v)
      print v; exit
    }' "$1"
}
# toml_set FILE SECTION KEY VALUE: sets KEY (VALUE is TOML, e.g. 2 or "x") in SECTION, adding
# the key or the section when missing. Rewrites in place (keeps the file's mode).
toml_set() {
  local f=$1
  awk -v sec="[$2]" -v key="$3" -v val="$4" '
    function emit() { if (!done) { print key " = " val; done = 1 } }
    /^[ \t]*\[/ { if (insec) emit(); insec = ($1 == sec); if (insec) seen = 1; print; next }
    insec && $1 == key && ($2 == "=" || index($1, "=")) { emit(); next }
    { print }
    END { if (insec) emit(); else if (!seen) { print ""; print sec; print key " = " val } }
  ' "$f" >"$f.new"
  cat "$f.new" >"$f"
  rm -f "$f.new"
}

# ---------------------------------------------------------------------------------------------
# HTTP
CURL=(curl -sS --connect-timeout 2 --max-time 10)
agent_status() { "${CURL[@]}" -f "http://127.0.0.1:${APORT[$1]}/v1/status"; }
hub_get() { "${CURL[@]}" -f -H "Authorization: Bearer $HUB_TOKEN" "http://127.0.0.1:$HUB_PORT$1"; }
healthy() { "${CURL[@]}" -f -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Store traffic, generated with awk (no python on the target). One call = one JSON array.
# A home & lifestyle chain: sku|category|description|price in cents.
CATALOG='CND-001|candles|Vanilla pillar candle 7x10 cm|495
CND-014|candles|Scented jar candle, fig and cedar|1210
CND-022|candles|Tea lights, pack of 30|349
HMD-101|home-decor|Stoneware vase, sand|1995
HMD-117|home-decor|Linen cushion cover 45x45 cm|1450
HMD-130|home-decor|Photo frame 13x18, oak|895
KIT-201|kitchen|Enamel mug, forest green|650
KIT-215|kitchen|Olive wood serving board|2490
KIT-230|kitchen|Cotton tea towels, set of 2|795
TXT-301|textiles|Wool throw, herringbone|4900
TXT-318|textiles|Bath towel 70x140 cm, ivory|1299
GFT-401|gifts|Gift box with ribbon|250
GFT-410|gifts|Greeting card, winter forest|295
FRG-501|fragrance|Reed diffuser 100 ml, amber|1850
FRG-510|fragrance|Room spray, eucalyptus|995
STN-601|stationery|Notebook A5, dotted|725
SEA-701|seasonal|Glass bauble set, 6 pieces|1595
SEA-715|seasonal|LED star garland 2 m|2250'

# shellcheck disable=SC2016
GEN_AWK='
function pick(n) { return int(rand() * n) + 1 }
function money(c) { return sprintf("%d.%02d", int(c / 100), c % 100) }
function hms(t) { t = t % 86400; return sprintf("%02d:%02d:%02d", int(t / 3600), int(t % 3600 / 60), t % 60) }
BEGIN {
  srand(seed)
  ncat = split(catalog, lines, ";")
  for (i = 1; i <= ncat; i++) {
    split(lines[i], f, "|"); sku[i] = f[1]; cat[i] = f[2]; desc[i] = f[3]; cents[i] = f[4] + 0
  }
  nfirst = split("anna ben clara david emma felix greta hugo ida jonas lena max nora oskar paula rosa sam tina ulla yusuf", first, " ")
  nlast = split("meyer novak rossi dubois jansen silva kowalski berg moreau fischer", last, " ")
  t = t0 + 0; s = seq0 + 0; ntx = 0; nscan = 0; nret = 0; net = 0
  printf "["
  for (e = 1; e <= n; e++) {
    s++
    t += (kind == "kiosk") ? 20 + int(rand() * 100) : 15 + int(rand() * 60)
    ts = day "T" hms(t) tz
    c = pick(160)                                        # the chain has 160 regular customers
    lid = sprintf("L%06d", 100000 + c)
    em = first[(c - 1) % nfirst + 1] "." last[int((c - 1) / nfirst) % nlast + 1] "@mail.cjd-demo.net"
    if (e > 1) printf ","
    if (kind == "kiosk") {
      nscan++
      printf "{\"type\":\"loyalty_scan\",\"occurred_at\":\"%s\",\"store_id\":\"%s\",\"channel\":\"kiosk\",\"customer\":{\"loyalty_id\":\"%s\"%s}}", \
        ts, store, lid, (rand() < 0.3 ? ",\"email\":\"" em "\"" : "")
      continue
    }
    ntx++
    r = rand(); cust = ""
    if (r < 0.40) cust = "\"customer\":{\"loyalty_id\":\"" lid "\",\"email\":\"" em "\"},"
    else if (r < 0.60) cust = "\"customer\":{\"loyalty_id\":\"" lid "\"},"
    else if (r < 0.72) cust = "\"customer\":{\"email\":\"" em "\"},"
    is_return = rand() < 0.08
    nret += is_return
    nitems = is_return ? 1 + (rand() < 0.3) : 1 + int(rand() * 5)
    items = ""
    for (k = 1; k <= nitems; k++) {
      p = pick(ncat)
      q = is_return ? -1 : (rand() < 0.75 ? 1 : 2 + int(rand() * 3))
      items = items (k > 1 ? "," : "") sprintf("{\"sku\":\"%s\",\"quantity\":%d,\"unit_price\":\"%s\",\"category\":\"%s\",\"description\":\"%s\"}", \
        sku[p], q, money(cents[p]), cat[p], desc[p])
      net += q * cents[p]
    }
    m = rand()
    if (m < 0.62) pay = sprintf("{\"method\":\"card\",\"card_fingerprint\":\"fp_%06x\"}", (c * 7919 + 104729) % 16777216)
    else if (m < 0.82) pay = "{\"method\":\"cash\"}"
    else pay = "{\"method\":\"mobile\"}"
    printf "{\"type\":\"transaction\",\"event_id\":\"%s-%06d\",\"occurred_at\":\"%s\",\"store_id\":\"%s\",\"channel\":\"pos\",%s\"order\":{\"order_id\":\"%s-%s-%06d\",\"currency\":\"EUR\",\"items\":[%s],\"payment\":%s}}", \
      dev, s, ts, store, cust, toupper(store), toupper(dev), s, items, pay
  }
  printf "]\n"
  print t, s, ntx, nscan, nret, net > statefile
}'

DEVICES=(pos-1 pos-2 kiosk-1)
declare -A KIND=([pos-1]=pos [pos-2]=pos [kiosk-1]=kiosk)
declare -A STORE=([pos-1]=store-001 [pos-2]=store-002 [kiosk-1]=store-001)
declare -A APORT=() TOKEN=() CLOCK=() SEQ=() SENT=()
TOTAL=0; TOTAL_TX=0; TOTAL_SCAN=0; TOTAL_RET=0; NET_CENTS=0; BATCHES=0
DAY=$(date +%F)
TZOFF=$(date +%:z)

# post_batch DEVICE N: generates N events for DEVICE and POSTs them as one array (expects 202).
post_batch() {
  local dev=$1 n=$2 f code accepted t s ntx nscan nret net
  BATCHES=$((BATCHES + 1))
  f="$T/traffic/$(printf '%03d' "$BATCHES")-$dev.json"
  awk -v seed="$((BATCHES * 7 + 13))" -v catalog="${CATALOG//$'\n'/;}" -v dev="$dev" -v store="${STORE[$dev]}" \
      -v kind="${KIND[$dev]}" -v n="$n" -v t0="${CLOCK[$dev]}" -v seq0="${SEQ[$dev]}" \
      -v day="$DAY" -v tz="$TZOFF" -v statefile="$f.state" "$GEN_AWK" </dev/null >"$f"
  code=$("${CURL[@]}" -o "$f.response" -w '%{http_code}' -X POST \
           -H "Authorization: Bearer ${TOKEN[$dev]}" -H 'Content-Type: application/json' \
           --data-binary "@$f" "http://127.0.0.1:${APORT[$dev]}/v1/events" 2>"$f.curl-error") || true
  if [ "$code" != "202" ]; then
    die "POST /v1/events to $dev answered HTTP ${code:-none}: $(head -c 400 "$f.response" "$f.curl-error" 2>/dev/null)" "${LOG[$dev]}"
  fi
  accepted=$(jq -r '.accepted' "$f.response")
  [ "$accepted" = "$n" ] || die "$dev accepted $accepted of $n events: $(head -c 400 "$f.response")"
  read -r t s ntx nscan nret net <"$f.state"
  CLOCK[$dev]=$t; SEQ[$dev]=$s
  SENT[$dev]=$((${SENT[$dev]:-0} + n))
  TOTAL=$((TOTAL + n)); TOTAL_TX=$((TOTAL_TX + ntx)); TOTAL_SCAN=$((TOTAL_SCAN + nscan))
  TOTAL_RET=$((TOTAL_RET + nret)); NET_CENTS=$((NET_CENTS + net))
}

# post_one_scan DEVICE JSON: POSTs one loyalty_scan event (expects 202) and counts it.
post_one_scan() {
  local dev=$1 code
  code=$("${CURL[@]}" -o "$T/logs/post_one.json" -w '%{http_code}' -X POST \
           -H "Authorization: Bearer ${TOKEN[$dev]}" -H 'Content-Type: application/json' \
           --data-binary "$2" "http://127.0.0.1:${APORT[$dev]}/v1/events") || true
  [ "$code" = "202" ] || die "POST /v1/events to $dev answered HTTP ${code:-none}: $(head -c 400 "$T/logs/post_one.json")" "${LOG[$dev]}"
  SENT[$dev]=$((${SENT[$dev]:-0} + 1)); TOTAL=$((TOTAL + 1)); TOTAL_SCAN=$((TOTAL_SCAN + 1))
}

# batch_size DEVICE: 12-24 events for a till, 6-12 scans for the kiosk.
batch_size() {
  if [ "${KIND[$1]}" = "kiosk" ]; then echo $((6 + RANDOM % 7)); else echo $((12 + RANDOM % 13)); fi
}

# status_line: one line with each agent's backlog and link state, and the hub's total.
status_line() {
  local prefix=$1 dev line="" j backlog connected hub_total
  for dev in "${DEVICES[@]}"; do
    j=$(agent_status "$dev") || die "GET /v1/status from $dev failed" "${LOG[$dev]}"
    backlog=$(jq -r '.backlog' <<<"$j"); connected=$(jq -r '.connected' <<<"$j")
    if [ "$connected" = "true" ]; then connected="${GREEN}up  ${OFF}"; else connected="${RED}down${OFF}"; fi
    line+=$(printf '%-8s backlog %4s %s  ' "$dev" "$backlog" "$connected")
  done
  hub_total=$(hub_get /v1/stats | jq -r '.events_total') || die "GET /v1/stats from the hub failed" "${LOG[hub]}"
  printf '   %-7s %s| hub %4s of %s\n' "$prefix" "$line" "$hub_total" "$TOTAL"
}

# delivered: every agent's backlog is 0 and the hub holds every accepted event.
delivered() {
  local dev j
  for dev in "${DEVICES[@]}"; do
    j=$(agent_status "$dev" 2>/dev/null) || return 1
    [ "$(jq -r '.backlog' <<<"$j")" = "0" ] || return 1
  done
  [ "$(hub_get /v1/stats 2>/dev/null | jq -r '.events_total')" = "$TOTAL" ]
}

# wait_delivered TIMEOUT_S: prints a status line every 2 s until delivered.
wait_delivered() {
  local timeout=$1 start=$SECONDS next=$SECONDS dev
  until delivered; do
    for dev in hub "${DEVICES[@]}"; do
      alive "${PID[$dev]}" || die "$dev exited" "${LOG[$dev]}"
    done
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      status_line "t+$((SECONDS - start))s"
      die "the hub did not receive all $TOTAL events within ${timeout} s" "${LOG[hub]}"
    fi
    if [ "$SECONDS" -ge "$next" ]; then status_line "t+$((SECONDS - start))s"; next=$((SECONDS + 2)); fi
    sleep 0.25
  done
  status_line "t+$((SECONDS - start))s"
  DELIVERY_S=$((SECONDS - start))
}

# mosquitto_start N: writes the config for start N (own log file) and starts the broker.
mosquitto_start() {
  local n=$1 conf="$T/mosquitto/mosquitto.conf" log="$T/logs/mosquitto-$1.log"
  {
    echo "# generated by packaging/demo.sh: loopback only, anonymous, no persistence"
    if [ "$(id -u)" = "0" ]; then echo "user root"; fi   # else 2.x drops to user mosquitto
    echo "listener $MQ_PORT 127.0.0.1"
    echo "allow_anonymous true"
    echo "persistence false"
    echo "max_queued_messages 100000"
    echo "log_dest file $log"
    echo "log_type error"
    echo "log_type warning"
    echo "log_type notice"
    echo "log_type information"
  } >"$conf"
  start_proc mosquitto "$T/logs/mosquitto-$n.out" "$MOSQUITTO" -c "$conf"
  LOG2[mosquitto]=${LOG[mosquitto]}
  LOG[mosquitto]=$log
  wait_for "Mosquitto on 127.0.0.1:$MQ_PORT" 10 mosquitto mosquitto_up "$log"
}
# mosquitto_up LOG: our broker listens (its log says so: not someone else on the port).
mosquitto_up() { port_open "$MQ_PORT" && grep -q "listen socket on port $MQ_PORT" "$1" 2>/dev/null; }
hub_connected() { [ "$(hub_get /v1/stats 2>/dev/null | jq -r .ingest.connected)" = "true" ]; }
hub_online_count() { [ "$(hub_get /v1/devices 2>/dev/null | jq -r .online)" = "$1" ]; }
agent_connected() { [ "$(agent_status "$1" 2>/dev/null | jq -r .connected)" = "true" ]; }
agents_all_down() {
  local dev
  for dev in "${DEVICES[@]}"; do ! agent_connected "$dev" || return 1; done
}

# =============================================================================================
printf '%sCustomerJourneyData demo%s  (%s)\n' "$BOLD" "$OFF" "$ROOT"
DEMO_START=$SECONDS

section "Dependencies (packaging/install-deps.sh)"
if [ "${CJD_DEMO_SKIP_DEPS:-0}" = "1" ]; then
  info "skipped (CJD_DEMO_SKIP_DEPS=1)"
else
  "$ROOT/packaging/install-deps.sh" || die "packaging/install-deps.sh failed"
  ok "build and runtime packages present"
fi
for tool in curl jq awk setsid; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (packaging/install-deps.sh installs it)"
done
MOSQUITTO=$(command -v mosquitto || true)
[ -n "$MOSQUITTO" ] || { [ -x /usr/sbin/mosquitto ] && MOSQUITTO=/usr/sbin/mosquitto; } \
  || die "mosquitto not found (apt-get install mosquitto)"

section "Build (packaging/build.sh $BUILD)"
BUILD_LOG=$(mktemp -t cjd-demo-build.XXXXXX.log)
if [ ! -x "$BUILD/agent/cjd-agent" ]; then
  info "first build: this takes several minutes (about 8 on 2 cores); output in $BUILD_LOG"
fi
# build_progress: on a terminal, shows make's "[ NN%]" as one updating line.
build_progress() {
  local line
  while IFS= read -r line; do
    case "$line" in
      '['*'%]'*) if [ -t 1 ]; then printf '\r   building %s' "${line:0:6}"; fi ;;
    esac
  done
  if [ -t 1 ]; then printf '\r\033[K'; fi
}
if ! CJD_BUILD_TARGETS="cjd-hub cjd-agent cjdctl" "$ROOT/packaging/build.sh" "$BUILD" 2>&1 \
     | tee "$BUILD_LOG" | build_progress; then
  tail -n 40 "$BUILD_LOG" | sed 's/^/   | /' >&2
  rm -f "$BUILD_LOG"
  die "the build failed (output above)"
fi
rm -f "$BUILD_LOG"
HUB_BIN=$BUILD/hub/cjd-hub
AGENT_BIN=$BUILD/agent/cjd-agent
CTL_BIN=$BUILD/tools/cjdctl/cjdctl
for b in "$HUB_BIN" "$AGENT_BIN" "$CTL_BIN"; do [ -x "$b" ] || die "$b was not built"; done
ok "cjd-hub, cjd-agent, cjdctl $("$CTL_BIN" --version 2>/dev/null | tail -n 1) in $BUILD"

section "Broker and hub"
T=$(mktemp -d -t cjd-demo.XXXXXX)
mkdir -p "$T/logs" "$T/mosquitto" "$T/traffic"
info "working directory $T"
pick_port MQ_PORT
pick_port HUB_PORT
for dev in "${DEVICES[@]}"; do pick_port "APORT[$dev]"; done
mosquitto_start 1
ok "Mosquitto    tcp://127.0.0.1:$MQ_PORT (pid ${PID[mosquitto]})"

"$CTL_BIN" init-hub --dir "$T/hub" --broker "tcp://127.0.0.1:$MQ_PORT" \
  --listen "127.0.0.1:$HUB_PORT" >"$T/logs/cjdctl.log" 2>&1 || die "cjdctl init-hub failed" "$T/logs/cjdctl.log"
toml_set "$T/hub/hub.toml" fleet offline_after_s 10   # a lively fleet view for the demo
HUB_TOKEN=$(toml_get "$T/hub/hub.toml" http token)
[ -n "$HUB_TOKEN" ] || die "no [http] token in $T/hub/hub.toml"
ok "cjdctl init-hub --dir $T/hub"

for dev in "${DEVICES[@]}"; do
  "$CTL_BIN" add-device --hub-dir "$T/hub" --id "$dev" --store "${STORE[$dev]}" --kind "${KIND[$dev]}" \
    --listen "127.0.0.1:${APORT[$dev]}" --out "$T/$dev/agent.toml" >>"$T/logs/cjdctl.log" 2>&1 \
    || die "cjdctl add-device --id $dev failed" "$T/logs/cjdctl.log"
  toml_set "$T/$dev/agent.toml" uplink heartbeat_s 2   # status to the hub every 2 s
  TOKEN[$dev]=$(toml_get "$T/$dev/agent.toml" http token)
  [ -n "${TOKEN[$dev]}" ] || die "no [http] token in $T/$dev/agent.toml"
  CLOCK[$dev]=$((9 * 3600)); SEQ[$dev]=0     # the trading day starts at 09:00
  ok "cjdctl add-device --id $dev --kind ${KIND[$dev]} --store ${STORE[$dev]}"
done

start_proc hub "$T/logs/hub.log" "$HUB_BIN" --config "$T/hub/hub.toml"
wait_for "cjd-hub on 127.0.0.1:$HUB_PORT" 20 hub healthy "$HUB_PORT"
wait_for "cjd-hub connected to the broker" 20 hub hub_connected
ok "cjd-hub      http://127.0.0.1:$HUB_PORT (pid ${PID[hub]}), connected to the broker"

section "Agents"
for dev in "${DEVICES[@]}"; do
  start_proc "$dev" "$T/logs/$dev.log" "$AGENT_BIN" --config "$T/$dev/agent.toml"
done
for dev in "${DEVICES[@]}"; do
  wait_for "cjd-agent $dev on 127.0.0.1:${APORT[$dev]}" 20 "$dev" healthy "${APORT[$dev]}"
  wait_for "cjd-agent $dev connected to the broker" 20 "$dev" agent_connected "$dev"
  ok "$(printf '%-8s %-5s %-9s http://127.0.0.1:%s (pid %s), connected' "$dev" "${KIND[$dev]}" \
        "${STORE[$dev]}" "${APORT[$dev]}" "${PID[$dev]}")"
done
wait_for "the hub seeing 3 devices online" 20 hub hub_online_count 3
ok "the hub sees 3 of 3 devices online"

section "Store traffic: morning trading"
info "sales (baskets of 1-5 items, EUR, card/cash/mobile), returns (negative quantities),"
info "loyalty scans at the kiosk; JSON arrays POSTed to each agent's /v1/events"
for round in 1 2 3 4 5 6; do
  line=""
  for dev in "${DEVICES[@]}"; do
    n=$(batch_size "$dev")
    post_batch "$dev" "$n"
    line+=$(printf '%-8s +%-3s ' "$dev" "$n")
  done
  info "batch round $round: $line(accepted so far: $TOTAL)"
done
info "one of pos-1's events (a sale to a loyalty customer):"
last_pos1=$(find "$T/traffic" -name '*-pos-1.json' | sort | tail -n 1)
jq -r '([.[] | select(.customer.loyalty_id and (.order.items | length) > 1)][0] // .[0])
       | "event:  \(del(.order) | tojson)", "order:  \(.order | del(.items) | tojson)",
         "items:  \(.order.items[0] | tojson)", (.order.items[1:][] | "        \(tojson)")' \
  "$last_pos1" | sed 's/^/     /'
info "an event for another store is refused with a precise error:"
bad=$("${CURL[@]}" -X POST -H "Authorization: Bearer ${TOKEN[pos-1]}" -H 'Content-Type: application/json' \
      -d "{\"type\":\"loyalty_scan\",\"occurred_at\":\"${DAY}T10:00:00$TZOFF\",\"store_id\":\"store-999\",\"customer\":{\"loyalty_id\":\"L100001\"}}" \
      -w ' (HTTP %{http_code})' "http://127.0.0.1:${APORT[pos-1]}/v1/events" || true)
info "  $bad"
info "waiting for the hub to hold all $TOTAL events:"
wait_delivered 60
ok "all $TOTAL events at the hub ${DELIVERY_S} s after the last POST"

section "Broker outage: the agents keep accepting and buffer offline"
stop_proc mosquitto
ok "Mosquitto stopped"
wait_for "the agents noticing the outage" 20 "" agents_all_down
BEFORE_OUTAGE=$TOTAL
outage_start=$SECONDS
info "each line: every agent's GET /v1/status (backlog, connected: up/down) and the hub's"
info "GET /v1/stats events_total, while the tills keep POSTing a batch each every ~2 s"
status_line "before"
while [ $((SECONDS - outage_start)) -lt "$OUTAGE_S" ]; do
  for dev in "${DEVICES[@]}"; do post_batch "$dev" "$(batch_size "$dev")"; done
  status_line "t+$((SECONDS - outage_start))s"
  sleep 2
done
ok "$((TOTAL - BEFORE_OUTAGE)) events accepted during a $((SECONDS - outage_start)) s outage, none lost"

section "Broker back: catch-up"
mosquitto_start 2
ok "Mosquitto restarted on tcp://127.0.0.1:$MQ_PORT (pid ${PID[mosquitto]})"
info "agents and hub reconnect (with backoff); the demo broker keeps no state, so a batch sent"
info "before the hub has subscribed again is resent after the agent's ack_timeout_ms (10 s)"
wait_delivered "$CATCHUP_TIMEOUT_S"
CATCHUP_S=$DELIVERY_S
ok "caught up: all $TOTAL events at the hub ${CATCHUP_S} s after the broker came back"

section "Customers: one profile from store and web, and the value metrics"
WEB_KEY=$("$CTL_BIN" add-source --hub-dir "$T/hub" --name webshop 2>>"$T/logs/cjdctl.log") \
  || die "cjdctl add-source failed" "$T/logs/cjdctl.log"
ok "cjdctl add-source --name webshop: a key for the web shop's POST /v1/collect"
info "the web shop reports a visit, a cart, a login that links the visitor to loyalty card"
info "L100001 (the same person as in the stores) and an online order:"
WEB_EVENTS=$(cat <<JSON
[{"type":"page_view","occurred_at":"${DAY}T19:02:00$TZOFF","customer":{"anonymous_id":"web-7f3a"},"properties":{"url":"/candles"}},
 {"type":"add_to_cart","occurred_at":"${DAY}T19:04:10$TZOFF","customer":{"anonymous_id":"web-7f3a"},"properties":{"sku":"CND-014","quantity":2}},
 {"type":"identify","occurred_at":"${DAY}T19:05:00$TZOFF","customer":{"anonymous_id":"web-7f3a","loyalty_id":"L100001","email":"Anna.Meyer@mail.cjd-demo.net"},"attributes":{"first_name":"Anna","newsletter":true}},
 {"type":"order_completed","occurred_at":"${DAY}T19:06:30$TZOFF","customer":{"email":"anna.meyer@mail.cjd-demo.net"},"order":{"order_id":"WEB-1001","currency":"EUR","items":[{"sku":"CND-014","quantity":2,"unit_price":"12.10","category":"candles"}]}}]
JSON
)
code=$("${CURL[@]}" -o "$T/logs/collect.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $WEB_KEY" \
       -H 'Content-Type: application/json' --data-binary "$WEB_EVENTS" "http://127.0.0.1:$HUB_PORT/v1/collect" || true)
[ "$code" = "202" ] || die "POST /v1/collect answered HTTP ${code:-none}: $(head -c 400 "$T/logs/collect.json")" "${LOG[hub]}"
ok "POST /v1/collect: $(jq -c '{accepted, duplicates}' "$T/logs/collect.json")"
projected() {
  hub_get /v1/stats | jq -e '.projection.events_applied + .projection.quarantined_events >= .events_total' >/dev/null 2>&1
}
wait_for "the hub's projection catching up" 30 hub projected
PROFILE=$(hub_get "/v1/profiles?identifier=loyalty_id:L100001&events_limit=3") || die "GET /v1/profiles failed" "${LOG[hub]}"
info "GET /v1/profiles?identifier=loyalty_id:L100001 (identifiers, traits, latest events):"
jq -r '"profile \(.profile_id): \(.attributes | tojson)",
       "identifiers: \([.identifiers[] | "\(.type)=\(.value)"] | join(", "))",
       "traits: orders \(.traits.orders), gross \(.traits.revenue_gross), net \(.traits.revenue_net), AOV \(.traits.average_order_value), channels \(.traits.channels | join("+")), loyalty scans \(.traits.loyalty_scans), favourite \(.traits.favourite_category // "-") at \(.traits.favourite_store // "-"), RFM \(.traits.rfm.score // "-")",
       "latest: \([.events[].event.type] | join(", "))"' <<<"$PROFILE" | sed 's/^/     /'
jq -e '.traits.channels | index("web") and length >= 2' <<<"$PROFILE" >/dev/null \
  || die "the web events did not join the store customer's profile" "${LOG[hub]}"
ok "store and web activity are one customer"
info "cjdctl report (GET /v1/metrics; definitions in hub/projection/README.md):"
"$CTL_BIN" report --hub "http://127.0.0.1:$HUB_PORT" --token "$HUB_TOKEN" --top 5 2>&1 | sed 's/^/     /' \
  || die "cjdctl report failed" "${LOG[hub]}"
journeys_caught_up() {
  hub_get /v1/stats | jq -e '.journeys.cursor == .projection.cursor' >/dev/null 2>&1
}
wait_for "the hub's journeys catching up" 30 hub journeys_caught_up
info "cjdctl funnel (POST /v1/funnels/query: page view -> cart -> order, across web and store; hub/journeys/README.md):"
"$CTL_BIN" funnel --hub "http://127.0.0.1:$HUB_PORT" --token "$HUB_TOKEN" --step page_view \
  --step add_to_cart --step order_completed --window-days 7 2>&1 | sed 's/^/     /' \
  || die "cjdctl funnel failed" "${LOG[hub]}"

section "Offers at the kiosk: chosen by the hub, served by the kiosk even offline"
"$CTL_BIN" segments create omnichannel 'channels contains "web" and loyalty_scans >= 1' \
  --name "Store and web shoppers" --hub "http://127.0.0.1:$HUB_PORT" --token "$HUB_TOKEN" \
  >>"$T/logs/cjdctl.log" 2>&1 || die "cjdctl segments create failed" "$T/logs/cjdctl.log"
ok "cjdctl segments create omnichannel 'channels contains \"web\" and loyalty_scans >= 1'"
FROM=$(date -u -d '-1 day' +%FT%TZ); UNTIL=$(date -u -d '+30 days' +%FT%TZ)
"$CTL_BIN" offers create --id welcome-coffee --title "Free coffee with any purchase" \
  --text "Show this screen at the till" --segment all --valid-from "$FROM" --valid-until "$UNTIL" \
  --priority 1 --hub "http://127.0.0.1:$HUB_PORT" --token "$HUB_TOKEN" >>"$T/logs/cjdctl.log" 2>&1 \
  || die "cjdctl offers create failed" "$T/logs/cjdctl.log"
"$CTL_BIN" offers create --id candles-15 --title "15% off candles" \
  --text "For our store and web shoppers" --segment omnichannel --store store-001 \
  --valid-from "$FROM" --valid-until "$UNTIL" --priority 10 --max-per-customer 1 \
  --hub "http://127.0.0.1:$HUB_PORT" --token "$HUB_TOKEN" >>"$T/logs/cjdctl.log" 2>&1 \
  || die "cjdctl offers create failed" "$T/logs/cjdctl.log"
info "cjdctl offers list:"
"$CTL_BIN" offers list --hub "http://127.0.0.1:$HUB_PORT" --token "$HUB_TOKEN" 2>&1 | sed 's/^/     /'
info "Anna (L100001, store and web) scans her card at kiosk-1 in store-001:"
post_one_scan kiosk-1 "{\"type\":\"loyalty_scan\",\"occurred_at\":\"$(date +%FT%T%:z)\",\"store_id\":\"store-001\",\"customer\":{\"loyalty_id\":\"L100001\"}}"
kiosk_offers() { "${CURL[@]}" -f -H "Authorization: Bearer ${TOKEN[kiosk-1]}" "http://127.0.0.1:${APORT[kiosk-1]}/v1/offers?loyalty_id=$1"; }
anna_has_offer() { kiosk_offers L100001 | jq -e '[.offers[].id] == ["candles-15","welcome-coffee"]' >/dev/null 2>&1; }
wait_for "the hub to plan and push Anna's offers to kiosk-1" 60 hub anna_has_offer
for lid in L100001 L100999; do
  info "GET kiosk-1 /v1/offers?loyalty_id=$lid -> $(kiosk_offers "$lid" | jq -c '[.offers[] | "\(.id): \(.title)"]')"
done
ok "the segment's offer reaches Anna only; anyone else gets the store's general offers"
info "GET /v1/devices (kiosk-1): $(hub_get /v1/devices | jq -c '.devices[] | select(.device_id=="kiosk-1") | {offers_version, offers_target}')"
stop_proc mosquitto
wait_for "kiosk-1 noticing the broker is gone" 20 "" agents_all_down
kiosk_offers L100001 | jq -e '[.offers[].id] == ["candles-15","welcome-coffee"]' >/dev/null \
  || die "kiosk-1 did not answer from its cache with the broker down" "${LOG[kiosk-1]}"
ok "broker down: kiosk-1 still answers from its own cache"
mosquitto_start 2
backlogs_empty() {
  local dev
  for dev in "${DEVICES[@]}"; do
    [ "$(agent_status "$dev" 2>/dev/null | jq -r '.backlog')" = "0" ] || return 1
  done
}
wait_for "every agent's backlog (the kiosk's impressions too) reaching the hub" 90 hub backlogs_empty
info "cjdctl offers stats candles-15 (impressions from the kiosk, redemptions from orders):"
"$CTL_BIN" offers stats candles-15 --hub "http://127.0.0.1:$HUB_PORT" --token "$HUB_TOKEN" 2>&1 | sed 's/^/     /'

section "Access: roles, masked answers, the audit log, Prometheus"
ANALYST=$("$CTL_BIN" add-token --hub-dir "$T/hub" --role analyst --name marketing 2>>"$T/logs/cjdctl.log") \
  || die "cjdctl add-token failed" "$T/logs/cjdctl.log"
ok "cjdctl add-token --role analyst --name marketing: a token that reads, with personal data masked"
MASKED=$("${CURL[@]}" -f -H "Authorization: Bearer $ANALYST" \
         "http://127.0.0.1:$HUB_PORT/v1/profiles?identifier=loyalty_id:L100001&events_limit=1") \
  || die "GET /v1/profiles with the analyst token failed" "${LOG[hub]}"
info "the analyst's view of Anna: $(jq -c '{profile_id, identifiers: [.identifiers[] | "\(.type)=\(.value)"], attributes, orders: .traits.orders, gross: .traits.revenue_gross}' <<<"$MASKED")"
if grep -qi -e anna -e L100001 <<<"$MASKED"; then die "the analyst's answer names the customer" "${LOG[hub]}"; fi
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ANALYST" \
       -H 'Content-Type: application/json' --data-binary '{"id":"x","rule":"orders >= 1"}' \
       "http://127.0.0.1:$HUB_PORT/v1/segments" || true)
[ "$code" = "403" ] || die "the analyst token was not refused a change (HTTP ${code:-none})" "${LOG[hub]}"
ok "the analyst may not change anything: POST /v1/segments -> 403"
info "GET /v1/audit (who changed what, chained by a keyed hash):"
hub_get "/v1/audit?limit=20" | jq -r '.entries[] | "#\(.seq) \(.at) \(.actor) \(.action) -> \(.status)"' | sed 's/^/     /'
"$CTL_BIN" audit verify --hub-dir "$T/hub" 2>&1 | sed 's/^/     /'
"$CTL_BIN" audit verify --hub-dir "$T/hub" >/dev/null 2>&1 || die "cjdctl audit verify failed" "${LOG[hub]}"
ok "cjdctl audit verify: the chain is intact"
METRICS=$("${CURL[@]}" -f "http://127.0.0.1:$HUB_PORT/metrics") || die "GET /metrics failed" "${LOG[hub]}"
info "GET /metrics (Prometheus, no token needed, no personal data), a few series:"
grep -E '^cjd_hub_(events_total|devices_online|projection_lag_events|profiles) |^cjd_hub_device_online' <<<"$METRICS" | sed 's/^/     /'
info "GET /v1/alerts: $(hub_get /v1/alerts | jq -c '{count, kinds: [.alerts[].kind]}')"

section "Right to be forgotten: one request reaches the hub and every device"
# A copy of the hub's event log as a backup would take it, before the erasure.
mkdir -p "$T/backup"
cp "$T"/hub/hub.db* "$T/backup/"
if grep -a -q -i -e L100001 -e anna.meyer "$T"/backup/*; then die "the hub's log holds Anna in plain text" "${LOG[hub]}"; fi
ok "a copy of hub.db taken now holds no plain byte of Anna: her events' personal part is sealed under her own data keys (keys.db, wrapped by master.key)"
info "Anna asks to be forgotten: POST /v1/privacy/erasures {\"identifier\": \"loyalty_id:L100001\"}"
ERASURE=$("${CURL[@]}" -f -X POST -H "Authorization: Bearer $HUB_TOKEN" -H 'Content-Type: application/json' \
          --data-binary '{"identifier":"loyalty_id:L100001"}' "http://127.0.0.1:$HUB_PORT/v1/privacy/erasures") \
  || die "POST /v1/privacy/erasures failed" "${LOG[hub]}"
ERASURE_ID=$(jq -r .id <<<"$ERASURE")
ok "202: request $ERASURE_ID, $(jq -r .state <<<"$ERASURE"), deadline $(jq -r .deadline <<<"$ERASURE")"
erasure_done() { hub_get "/v1/privacy/erasures/$ERASURE_ID" | jq -e '.state == "done"' >/dev/null 2>&1; }
wait_for "the hub and every device holding Anna's data confirming the erasure" 60 hub erasure_done
info "GET /v1/privacy/erasures/$ERASURE_ID:"
hub_get "/v1/privacy/erasures/$ERASURE_ID" | jq -r '"hub: profile \(.hub.profile_id) erased, \(.hub.events_redacted) events of the log rewritten without her, done \(.hub.done_at)",
  (.devices[] | "\(.device_id): \(.state) \(.done_at)"), "met the deadline: \(.met)"' | sed 's/^/     /'
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $HUB_TOKEN" \
       "http://127.0.0.1:$HUB_PORT/v1/profiles?identifier=loyalty_id:L100001" || true)
[ "$code" = "404" ] || die "Anna's profile is still there (HTTP ${code:-none})" "${LOG[hub]}"
ok "GET /v1/profiles?identifier=loyalty_id:L100001 -> 404; her orders stay in the store totals, anonymous"
HELD=""
for f in "$T"/hub/* "${LOG[hub]}" "$T"/pos-1/* "$T"/pos-2/* "$T"/kiosk-1/* "${LOG[pos-1]}" "${LOG[pos-2]}" "${LOG[kiosk-1]}"; do
  [ -f "$f" ] || continue
  if grep -a -q -i -e L100001 -e anna.meyer "$f"; then HELD="$HELD $f"; fi
done
[ -z "$HELD" ] || die "Anna's loyalty id or email is still in:$HELD"
ok "no byte of her loyalty id or email in any file of the hub or the agents (databases, WAL, logs)"
info "her data keys are destroyed: the sealed part of her events in the copy taken before opens nowhere now"
ROTATED=$("$CTL_BIN" rotate-master-key --hub-dir "$T/hub" 2>&1) || die "cjdctl rotate-master-key failed: $ROTATED" "${LOG[hub]}"
ok "cjdctl rotate-master-key, hub running: $ROTATED"
info "if she scans her card again, that is a new visit (record it or not: \"suppress\": true drops her"
info "future events); kiosk-1 no longer holds her personal offers:"
anna_general() { kiosk_offers L100001 | jq -e '[.offers[].id] == ["welcome-coffee"]' >/dev/null 2>&1; }
wait_for "kiosk-1 dropping Anna's personal offers" 60 kiosk-1 anna_general
ok "kiosk-1 now shows L100001 only the general offers"

section "Summary"
# The kiosk's last offer impressions (the lookups of the step before) may still be on their way
# to the hub: wait, bounded, until the hub holds every event the agents accepted.
for _ in $(seq 1 30); do
  settled_imp=0
  for dev in "${DEVICES[@]}"; do
    j=$(agent_status "$dev") || break
    settled_imp=$((settled_imp + $(jq -r '(.impressions_recorded // 0)' <<<"$j")))
  done
  settled_total=$(hub_get /v1/stats | jq -r '.events_total') || settled_total=0
  [ "$((settled_total - 4 - settled_imp))" = "$TOTAL" ] && break
  sleep 1
done
STATS=$(hub_get /v1/stats) || die "GET /v1/stats failed" "${LOG[hub]}"
FLEET=$(hub_get /v1/devices) || die "GET /v1/devices failed" "${LOG[hub]}"
FAILED=0
printf '   %s%-8s %-5s %-9s %8s %7s %7s %8s %7s %10s%s\n' "$BOLD" device kind store accepted backlog batches resends reconn "hub-online" "$OFF"
for dev in "${DEVICES[@]}"; do
  j=$(agent_status "$dev") || die "GET /v1/status from $dev failed" "${LOG[$dev]}"
  read -r acc backlog sent resends reconnects impressions < <(jq -r '[.accepted_total,.backlog,.batches_sent,.resends,.reconnects,(.impressions_recorded // 0)]|@tsv' <<<"$j")
  acc=$((acc - impressions))   # the kiosk's own offer_impression events
  IMPRESSIONS=$((${IMPRESSIONS:-0} + impressions))
  online=$(jq -r --arg d "$dev" '.devices[]|select(.device_id==$d)|.online' <<<"$FLEET")
  printf '   %-8s %-5s %-9s %8s %7s %7s %8s %7s %10s\n' "$dev" "${KIND[$dev]}" "${STORE[$dev]}" \
    "$acc" "$backlog" "$sent" "$resends" "$reconnects" "$online"
  if [ "$acc" != "${SENT[$dev]}" ]; then
    warn "$dev reports $acc accepted, the demo sent ${SENT[$dev]}"; FAILED=1
  fi
done
read -r ev_total ev_tx ev_scan rej_total dups < <(jq -r \
  '[.events_total,.events_by_type.transaction,.events_by_type.loyalty_scan,.rejected_total,.duplicate_events]|@tsv' <<<"$STATS")
echo
info "${BOLD}hub${OFF}: events_total $ev_total (transaction $ev_tx, loyalty_scan $ev_scan), rejected $rej_total, duplicates dropped $dups"
info "     rejected by reason: $(jq -c '.rejected_by_reason' <<<"$STATS")"
info "demo: $TOTAL events accepted by the agents ($TOTAL_TX transactions of which $TOTAL_RET returns, $TOTAL_SCAN loyalty scans),"
info "      $((TOTAL - BEFORE_OUTAGE)) of them during the outage; net sales EUR $(printf '%d.%02d' $((NET_CENTS / 100)) $((NET_CENTS % 100)))"
ev_total=$((ev_total - 4 - IMPRESSIONS))   # the web shop's four events, the kiosk's impressions
if [ "$ev_total" = "$TOTAL" ] && [ "$ev_tx" = "$TOTAL_TX" ] && [ "$ev_scan" = "$TOTAL_SCAN" ] && [ "$rej_total" = "0" ] && [ "$FAILED" = "0" ]; then
  ok "every accepted event reached the hub exactly once"
else
  FAILED=1
  warn "the hub's figures do not match what the agents accepted"
fi

ui_code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HUB_PORT/ui/" || true)
if [ "$ui_code" = "200" ]; then
  ok "the dashboard is served at http://127.0.0.1:$HUB_PORT/ui/"
else
  FAILED=1
  warn "the dashboard (/ui/) answered $ui_code"
fi

echo
info "${BOLD}Try it${OFF} (everything listens on 127.0.0.1 only):"
info "  dashboard:    http://127.0.0.1:$HUB_PORT/ui/#token=$HUB_TOKEN  (a browser on this machine)"
info "  hub stats:    curl -s -H 'Authorization: Bearer $HUB_TOKEN' http://127.0.0.1:$HUB_PORT/v1/stats | jq"
info "  hub fleet:    curl -s -H 'Authorization: Bearer $HUB_TOKEN' http://127.0.0.1:$HUB_PORT/v1/devices | jq"
info "  a customer:   curl -s -H 'Authorization: Bearer $HUB_TOKEN' 'http://127.0.0.1:$HUB_PORT/v1/profiles?identifier=loyalty_id:L100042' | jq"
info "  metrics:      $CTL_BIN report --hub http://127.0.0.1:$HUB_PORT --token $HUB_TOKEN"
info "  offers:       $CTL_BIN offers list --hub http://127.0.0.1:$HUB_PORT --token $HUB_TOKEN"
info "  prometheus:   curl -s http://127.0.0.1:$HUB_PORT/metrics; curl -s http://127.0.0.1:${APORT[kiosk-1]}/metrics"
info "  audit log:    curl -s -H 'Authorization: Bearer $HUB_TOKEN' http://127.0.0.1:$HUB_PORT/v1/audit | jq"
info "  kiosk offers: curl -s -H 'Authorization: Bearer ${TOKEN[kiosk-1]}' 'http://127.0.0.1:${APORT[kiosk-1]}/v1/offers?loyalty_id=L100001' | jq"
for dev in "${DEVICES[@]}"; do
  info "$(printf '  %-8s      curl -s http://127.0.0.1:%s/v1/status | jq' "$dev" "${APORT[$dev]}")"
done
info "  send a scan:  curl -s -H 'Authorization: Bearer ${TOKEN[kiosk-1]}' -H 'Content-Type: application/json' \\"
info "                  -d '{\"type\":\"loyalty_scan\",\"occurred_at\":\"$(date +%FT%T%:z)\",\"store_id\":\"store-001\",\"customer\":{\"loyalty_id\":\"L100042\"}}' \\"
info "                  http://127.0.0.1:${APORT[kiosk-1]}/v1/events"
info "  configs:      $T/hub/hub.toml, $T/<device>/agent.toml; logs: $T/logs/"

section "Timing"
for line in "${TIMINGS[@]}"; do info "$line"; done
info "$(printf '%5ss  %s' $((SECONDS - DEMO_START)) "total")"

if [ "$FAILED" != "0" ]; then die "the summary above shows a mismatch" "${LOG[hub]}"; fi

if [ "$WAIT" = "1" ]; then
  printf '\n%sRunning. Press Ctrl-C to stop everything and clean up.%s\n' "$BOLD" "$OFF"
  declare -A REPORTED=()
  while true; do
    for name in mosquitto hub "${DEVICES[@]}"; do
      if [ -z "${REPORTED[$name]:-}" ] && ! alive "${PID[$name]}"; then
        REPORTED[$name]=1
        warn "$name exited; see ${LOG[$name]}"
      fi
    done
    sleep 1
  done
fi
