#!/usr/bin/env bash
# install_test.sh SOURCE_DIR BUILD_DIR: the Debian packages as a user gets them.
#   1. builds cjd-agent and cjd-hub with cpack from BUILD_DIR (into a temporary directory);
#   2. lintian --fail-on error,warning on both;
#   3. a clean Debian bookworm root (debootstrap --variant=minbase; the pristine root is kept in
#      BUILD_DIR/tests/packaging/bookworm-minbase and copied for each run), in which apt-get
#      installs systemd (not running), then both .debs (their Depends resolve from the Debian
#      mirror) and runs their maintainer scripts for real: user cjd, /etc/cjd, /var/lib/cjd;
#      systemd-analyze verify on the installed units;
#   4. starts the programs from that root, as user cjd: cjdctl init-hub, cjd-hub (GET /healthz),
#      cjdctl add-device, cjd-agent from the config installed as the README says; one sale
#      POSTed to the agent reaches the hub (the host's Mosquitto on loopback carries it); a bad
#      config makes cjd-hub and cjd-agent exit with status 2 (the units' RestartPreventExitStatus);
#   5. upgrades both packages (the same files under a higher version) while they run, restarts the
#      programs on the new binaries, a second sale reaches the hub;
#   6. enables both units (systemctl enable, offline), removes, then purges both: the files and
#      the enable links are gone, configs, data and the user kept.
# Exit 0: passed; 77 (CTest's SKIP_RETURN_CODE): not root, a tool missing, or no Debian mirror
# reachable (debootstrap or apt-get update failed); anything else: failed. Every wait is bounded,
# only 127.0.0.1 is used; mounts and the temporary root are removed on every exit.
# CJD_KEEP_TMP=1 keeps the temporary directory (logs, the root) for a look after a failure;
# CJD_DEBIAN_MIRROR=URL takes the packages from URL instead of the host's Debian mirror.
set -euo pipefail

src=${1:?usage: install_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: install_test.sh SOURCE_DIR BUILD_DIR}
src=$(cd "$src" && pwd)
build=$(cd "$build" && pwd)
# shellcheck source=tests/packaging/helpers.sh
. "$(dirname "$0")/helpers.sh"

[ "$(id -u)" = "0" ] || skip "needs root (debootstrap, chroot, bind mounts, dpkg in the root)"
MOSQUITTO=$(command -v mosquitto || true)
[ -n "$MOSQUITTO" ] || { [ -x /usr/sbin/mosquitto ] && MOSQUITTO=/usr/sbin/mosquitto; } || true
[ -n "$MOSQUITTO" ] || skip "mosquitto not found (packaging/install-deps.sh installs it)"
for tool in cpack lintian debootstrap dpkg-deb chroot mount umount mountpoint flock curl jq \
            timeout awk runuser; do
  command -v "$tool" >/dev/null 2>&1 || \
    skip "$tool not found (packaging/install-deps.sh --tests installs what this test needs)"
done
CHROOT=$(command -v chroot)   # the host's, by path: the calls below clear PATH
[ -f "$build/CPackConfig.cmake" ] || fail "$build/CPackConfig.cmake missing: not a configured build directory"

base="$build/tests/packaging"
mkdir -p "$base"
# One run at a time per build directory. A run killed before its clean-up (CTest's timeout sends
# SIGKILL) leaves its run.* directory and maybe mounts in it: unmounted and removed here.
exec 8>"$base/run.lock"
flock -w 60 8 || fail "another install_test.sh holds $base/run.lock"
for stale in "$base"/run.*/; do
  [ -d "$stale" ] || continue
  awk -v p="${stale%/}/" 'index($2, p) == 1 {print $2}' /proc/self/mounts | sort -r | \
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  rm -rf --one-file-system "$stale"
done
work=$(mktemp -d "$base/run.XXXXXX")
root="$work/root"
logs="$work/logs"
mkdir -p "$logs"
declare -A PID=()
MOUNTS=()   # what this run mounted, in order

# ---------------------------------------------------------------------------------------------
# Clean-up, on every exit: the processes this test started (by pid), the mounts, the root.
cleanup() {
  local rc=$?
  set +e
  local name
  for name in "${!PID[@]}"; do stop_pid "${PID[$name]}" >/dev/null 2>&1; done
  unmount_all
  if [ "${CJD_KEEP_TMP:-0}" = "1" ]; then
    say "kept $work (CJD_KEEP_TMP=1)"
  else
    # --one-file-system: never into a mount that survived (there should be none).
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


CURL=(curl -sS --connect-timeout 2 --max-time 10)
# dpkg-query formats (dpkg expands the fields, not the shell).
# shellcheck disable=SC2016
STATUS_VERSION='${Status} ${Version}'
# shellcheck disable=SC2016
STATUS='${Status}'

# ---------------------------------------------------------------------------------------------
say "1. cpack: the two packages"
debs="$work/debs"
if ! timeout 600 cpack --config "$build/CPackConfig.cmake" -G DEB -B "$debs" >"$logs/cpack.log" 2>&1; then
  fail "cpack failed" "$logs/cpack.log"
fi
agent_deb=$(ls "$debs"/cjd-agent_*.deb 2>/dev/null || true)
hub_deb=$(ls "$debs"/cjd-hub_*.deb 2>/dev/null || true)
if [ ! -f "$agent_deb" ] || [ ! -f "$hub_deb" ]; then
  fail "cpack made no cjd-agent_*.deb and cjd-hub_*.deb: $(ls "$debs")" "$logs/cpack.log"
fi
for deb in "$debs"/*.deb; do
  case "$deb" in "$agent_deb" | "$hub_deb") ;; *) fail "cpack made a package besides cjd-agent and cjd-hub: $deb" ;; esac
done
say "   $(basename "$agent_deb"), $(basename "$hub_deb")"

# contents_has DEB PATH...: each PATH is in DEB.
contents_has() {
  local deb=$1 list p
  shift
  list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
  for p in "$@"; do
    grep -qx "$p" <<<"$list" || fail "$(basename "$deb") lacks $p"
  done
}
contents_has "$agent_deb" /usr/bin/cjd-agent /usr/lib/systemd/system/cjd-agent@.service \
  /usr/share/man/man1/cjd-agent.1.gz /usr/share/doc/cjd-agent/copyright \
  /usr/share/doc/cjd-agent/changelog.Debian.gz
contents_has "$hub_deb" /usr/bin/cjd-hub /usr/bin/cjdctl /usr/lib/systemd/system/cjd-hub.service \
  /usr/share/man/man1/cjd-hub.1.gz /usr/share/man/man1/cjdctl.1.gz \
  /usr/share/doc/cjd-hub/copyright /usr/share/doc/cjd-hub/changelog.Debian.gz \
  /usr/share/doc/cjd-hub/examples/hub.toml
if dpkg-deb -c "$agent_deb" | grep -q -e 'bin/cjd-hub$' -e 'bin/cjdctl$'; then
  fail "cjd-agent carries the hub's programs"
fi

say "2. lintian --fail-on error,warning"
# As user nobody (lintian advises against root), on copies it can read.
lint="$work/lintian"
mkdir -p "$lint"
cp "$agent_deb" "$hub_deb" "$lint/"
chmod 0755 "$work" "$lint"
chmod 0644 "$lint"/*.deb
if ! timeout 600 runuser -u nobody -- env HOME=/tmp TMPDIR=/tmp lintian --fail-on error,warning \
     --tag-display-limit 0 "$lint"/*.deb >"$logs/lintian.log" 2>&1; then
  fail "lintian found errors or warnings (or could not run)" "$logs/lintian.log"
fi
say "   no errors, no warnings"
[ ! -s "$logs/lintian.log" ] || sed 's/^/     /' "$logs/lintian.log"

# ---------------------------------------------------------------------------------------------
say "3. a clean bookworm root"
cache="$base/bookworm-minbase"
# The host's Debian mirror (as the team kit's fresh-machine picks it), or CJD_DEBIAN_MIRROR.
mirror=${CJD_DEBIAN_MIRROR:-$(awk '/^URIs/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
(
  flock -w 900 9 || fail "another run holds $base/cache.lock"
  if [ ! -x "$cache/usr/bin/apt-get" ]; then
    say "   debootstrap --variant=minbase bookworm (from $mirror; kept in $cache for later runs)"
    rm -rf --one-file-system "$cache.new"
    if ! timeout 900 debootstrap --variant=minbase bookworm "$cache.new" "$mirror" \
         >"$logs/debootstrap.log" 2>&1; then
      rm -rf --one-file-system "$cache.new"
      # No network or no mirror: skip. Anything else is a failure.
      if grep -qE "Failed getting release file|Couldn't download|Could not resolve|Temporary failure|Connection (refused|timed out)|Network is unreachable" \
           "$logs/debootstrap.log"; then
        tail -n 5 "$logs/debootstrap.log"
        exit 77
      fi
      fail "debootstrap failed" "$logs/debootstrap.log"
    fi
    mv "$cache.new" "$cache"
  fi
) 9>"$base/cache.lock" || {
  rc=$?
  [ "$rc" = "77" ] && skip "debootstrap could not make a bookworm root from $mirror (no network?)"
  exit "$rc"
}
cp -a "$cache" "$root"
# The host's Debian sources (main, updates, security) as a fresh machine has them; with
# CJD_DEBIAN_MIRROR, debootstrap's sources.list for that mirror.
if [ -z "${CJD_DEBIAN_MIRROR:-}" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
  : >"$root/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
[ -s "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
bind_mount /proc "$root/proc"
bind_mount /dev "$root/dev"
# Downloaded .debs survive between runs (a cache of files, not of installed state).
mkdir -p "$base/apt-archives/partial" "$root/var/cache/apt/archives"
bind_mount "$base/apt-archives" "$root/var/cache/apt/archives"

# in_root CMD...: CMD in the root as root, clean environment, at most 10 minutes.
in_root() { timeout 600 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
              DEBIAN_FRONTEND=noninteractive "$CHROOT" "$root" "$@"; }
rc=0
in_root apt-get update >"$logs/apt-update.log" 2>&1 || rc=$?
if [ "$rc" != 0 ] || grep -qE '^(W|E): ' "$logs/apt-update.log"; then
  if grep -qE 'Could not resolve|Temporary failure resolving|Could not connect|Unable to connect|Connection (failed|timed out)|Network is unreachable' \
       "$logs/apt-update.log"; then
    tail -n 5 "$logs/apt-update.log"
    skip "apt-get update in the root could not reach the Debian mirror"
  fi
  fail "apt-get update in the root failed (exit $rc)" "$logs/apt-update.log"
fi
for pkg in cjd-agent cjd-hub; do
  ! in_root dpkg-query -W "$pkg" >/dev/null 2>&1 || fail "the clean root already has $pkg"
done
! in_root getent passwd cjd >/dev/null || fail "the clean root already has a user cjd"
# A till or a hub machine runs systemd: its package (not running: no /run/systemd/system, so
# the maintainer scripts skip their systemctl calls) gives systemd-analyze and an offline
# `systemctl enable` below.
if ! in_root apt-get install -y --no-install-recommends systemd >"$logs/apt-systemd.log" 2>&1; then
  fail "apt-get install systemd in the root failed" "$logs/apt-systemd.log"
fi
[ ! -d "$root/run/systemd/system" ] || fail "the root looks booted with systemd (/run/systemd/system)"

say "   apt-get install ./cjd-agent_*.deb ./cjd-hub_*.deb in the root"
mkdir -p "$root/tmp/debs"
cp "$agent_deb" "$hub_deb" "$root/tmp/debs/"
if ! in_root apt-get install -y --no-install-recommends \
     "/tmp/debs/$(basename "$agent_deb")" "/tmp/debs/$(basename "$hub_deb")" \
     >"$logs/apt-install.log" 2>&1; then
  fail "apt-get install of the packages failed" "$logs/apt-install.log"
fi
version=$(dpkg-deb -f "$hub_deb" Version)
for pkg in cjd-agent cjd-hub; do
  st=$(in_root dpkg-query -W "-f=$STATUS_VERSION" "$pkg" 2>/dev/null || true)
  [ "$st" = "install ok installed $version" ] || fail "$pkg after install: '$st', not 'install ok installed $version'"
done
# What the postinst made.
in_root getent passwd cjd >/dev/null || fail "no user cjd after the postinst"
in_root getent group cjd >/dev/null || fail "no group cjd after the postinst"
[ "$(in_root stat -c '%U:%G %a' /etc/cjd)" = "root:cjd 750" ] || fail "/etc/cjd is $(in_root stat -c '%U:%G %a' /etc/cjd), not root:cjd 750"
[ "$(in_root stat -c '%U:%G %a' /var/lib/cjd)" = "cjd:cjd 750" ] || fail "/var/lib/cjd is $(in_root stat -c '%U:%G %a' /var/lib/cjd), not cjd:cjd 750"
for page in cjd-agent cjd-hub cjdctl; do
  [ -s "$root/usr/share/man/man1/$page.1.gz" ] || fail "no man page $page.1.gz in the root"
done
uid=$(in_root id -u cjd)
gid=$(in_root id -g cjd)
say "   installed $version; user cjd ($uid:$gid), /etc/cjd, /var/lib/cjd made by the postinst"
# The units as bookworm's systemd reads them: it prints nothing when they are clean (an unknown
# key, say, is only a message, hence the check on the output).
if ! in_root systemd-analyze verify --man=no cjd-hub.service cjd-agent@pos-1.service \
     >"$logs/systemd-analyze.log" 2>&1 || [ -s "$logs/systemd-analyze.log" ]; then
  fail "systemd-analyze verify of the installed units" "$logs/systemd-analyze.log"
fi
for key in RestartPreventExitStatus=2 StartLimitBurst=5; do
  for unit in cjd-hub.service cjd-agent@.service; do
    grep -qx "$key" "$root/usr/lib/systemd/system/$unit" || fail "$unit has no $key"
  done
done
say "   systemd-analyze verify: both units clean"

# as_cjd CMD...: CMD in the root as user cjd (as the units run it), at most 2 minutes.
as_cjd() { timeout 120 env -i PATH=/usr/bin:/bin HOME=/var/lib/cjd LANG=C.UTF-8 \
             "$CHROOT" --userspec="$uid:$gid" "$root" "$@"; }
# start NAME CMD...: CMD in the root as user cjd, in the background, output to logs/NAME.log.
# env and chroot exec, so the pid is the program's.
start() {
  local name=$1
  shift
  env -i PATH=/usr/bin:/bin HOME=/var/lib/cjd LANG=C.UTF-8 \
    "$CHROOT" --userspec="$uid:$gid" "$root" "$@" >"$logs/$name.log" 2>&1 &
  PID[$name]=$!
}
healthy() { "${CURL[@]}" -f -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
say "4. the programs, from the root"
as_cjd cjd-hub --version >"$logs/version.log" 2>&1 || fail "cjd-hub --version in the root failed" "$logs/version.log"
as_cjd cjd-agent --version >>"$logs/version.log" 2>&1 || fail "cjd-agent --version in the root failed" "$logs/version.log"
as_cjd cjdctl --version >>"$logs/version.log" 2>&1 || fail "cjdctl --version in the root failed" "$logs/version.log"

mq_port='' hub_port='' agent_port='' bad_port=''
pick_port mq_port
pick_port hub_port
pick_port agent_port
mkdir -p "$work/mosquitto"
{
  echo "# install_test.sh: loopback only, anonymous, no persistence"
  echo "user root"
  echo "listener $mq_port 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence false"
  echo "log_dest file $logs/mosquitto-broker.log"
} >"$work/mosquitto/mosquitto.conf"
"$MOSQUITTO" -c "$work/mosquitto/mosquitto.conf" >"$logs/mosquitto.log" 2>&1 &
PID[mosquitto]=$!
mosquitto_up() { port_open "$mq_port" && grep -q "listen socket on port $mq_port" "$logs/mosquitto-broker.log" 2>/dev/null; }
wait_until "Mosquitto on 127.0.0.1:$mq_port" 15 mosquitto mosquitto_up

if ! as_cjd cjdctl init-hub --dir /var/lib/cjd/hub --broker "tcp://127.0.0.1:$mq_port" \
     --listen "127.0.0.1:$hub_port" >"$logs/cjdctl.log" 2>&1; then
  fail "cjdctl init-hub failed" "$logs/cjdctl.log"
fi
hub_token=$(toml_get "$root/var/lib/cjd/hub/hub.toml" http token)
[ -n "$hub_token" ] || fail "no [http] token in the hub.toml cjdctl init-hub wrote"
[ "$(in_root stat -c %U:%a /var/lib/cjd/hub/hub.key)" = "cjd:600" ] || fail "hub.key is not cjd's, mode 600"

start hub /usr/bin/cjd-hub --config /var/lib/cjd/hub/hub.toml
wait_until "cjd-hub answering GET /healthz on 127.0.0.1:$hub_port" 60 hub healthy "$hub_port"
hub_get() { "${CURL[@]}" -f -H "Authorization: Bearer $hub_token" "http://127.0.0.1:$hub_port$1"; }
say "   cjd-hub (pid ${PID[hub]}) answers /healthz on 127.0.0.1:$hub_port"

# The device, provisioned on the hub and its config installed as packaging/README.md says.
if ! as_cjd cjdctl add-device --hub-dir /var/lib/cjd/hub --id pos-1 --store store-001 --kind pos \
     --listen "127.0.0.1:$agent_port" --out /var/lib/cjd/agent-pos-1.toml \
     --outbox /var/lib/cjd/pos-1.outbox.db >>"$logs/cjdctl.log" 2>&1; then
  fail "cjdctl add-device failed" "$logs/cjdctl.log"
fi
in_root install -o root -g cjd -m 0640 /var/lib/cjd/agent-pos-1.toml /etc/cjd/agent-pos-1.toml
rm -f "$root/var/lib/cjd/agent-pos-1.toml"
agent_token=$(toml_get "$root/etc/cjd/agent-pos-1.toml" http token)
[ -n "$agent_token" ] || fail "no [http] token in the agent config cjdctl add-device wrote"

start agent /usr/bin/cjd-agent --config /etc/cjd/agent-pos-1.toml
wait_until "cjd-agent answering GET /healthz on 127.0.0.1:$agent_port" 60 agent healthy "$agent_port"
say "   cjd-agent (pid ${PID[agent]}) answers /healthz on 127.0.0.1:$agent_port"

# post_sale N: one sale (event id pkg-test-N) POSTed to the agent, which must accept it.
post_sale() {
  local n=$1 body code
  body=$(printf '[{"type":"transaction","event_id":"pkg-test-%s","occurred_at":"%s","store_id":"store-001","channel":"pos","customer":{"loyalty_id":"L000001"},"order":{"order_id":"PKG-%s","currency":"EUR","items":[{"sku":"SKU-1","quantity":1,"unit_price":"4.95"}],"payment":{"method":"cash"}}}]' \
           "$n" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$n")
  code=$("${CURL[@]}" -o "$logs/post-$n.json" -w '%{http_code}' -X POST \
           -H "Authorization: Bearer $agent_token" -H 'Content-Type: application/json' \
           --data-binary "$body" "http://127.0.0.1:$agent_port/v1/events" 2>>"$logs/curl.log") || true
  [ "$code" = "202" ] || fail "POST /v1/events answered HTTP ${code:-none}: $(head -c 300 "$logs/post-$n.json" 2>/dev/null)" "$logs/agent.log"
  [ "$(jq -r .accepted "$logs/post-$n.json")" = "1" ] || fail "the agent did not accept the sale: $(head -c 300 "$logs/post-$n.json")"
}
hub_has() { [ "$(hub_get /v1/stats 2>/dev/null | jq -r .events_total)" = "$1" ]; }
backlog_empty() { [ "$("${CURL[@]}" -f "http://127.0.0.1:$agent_port/v1/status" 2>/dev/null | jq -r .backlog)" = "0" ]; }

post_sale 1
wait_until "the sale at the hub (GET /v1/stats events_total = 1)" 60 hub hub_has 1
wait_until "the agent's backlog empty (the hub acknowledged)" 60 agent backlog_empty
say "   a sale POSTed to cjd-agent is at cjd-hub; the agent's backlog is 0"

# A bad config: exit status 2, and a message naming the file (the units stop on 2).
pick_port bad_port
printf '[http]\nlisten = "127.0.0.1:%s"\nno_such_key = 1\n' "$bad_port" >"$root/var/lib/cjd/bad.toml"
chmod 0644 "$root/var/lib/cjd/bad.toml"
for prog in cjd-hub cjd-agent; do
  rc=0
  timeout 30 env -i PATH=/usr/bin:/bin "$CHROOT" --userspec="$uid:$gid" "$root" \
    "/usr/bin/$prog" --config /var/lib/cjd/bad.toml >"$logs/bad-$prog.log" 2>&1 || rc=$?
  [ "$rc" = "2" ] || fail "$prog with a bad config exited $rc, not 2" "$logs/bad-$prog.log"
  grep -q "/var/lib/cjd/bad.toml" "$logs/bad-$prog.log" || fail "$prog's error does not name the config" "$logs/bad-$prog.log"
done
rm -f "$root/var/lib/cjd/bad.toml"
say "   a bad config: cjd-hub and cjd-agent exit 2 naming the file ($(head -n 1 "$logs/bad-cjd-hub.log"))"

# ---------------------------------------------------------------------------------------------
say "5. upgrade, while the programs run"
bumped="${version}+upgradetest1"
mkdir -p "$work/upgrade" "$root/tmp/debs/upgrade"
for deb in "$agent_deb" "$hub_deb"; do
  pkg=$(dpkg-deb -f "$deb" Package)
  tree="$work/upgrade/$pkg"
  dpkg-deb -R "$deb" "$tree"
  sed -i "s/^Version: .*/Version: $bumped/" "$tree/DEBIAN/control"
  dpkg-deb --root-owner-group -b "$tree" "$root/tmp/debs/upgrade/${pkg}_${bumped}.deb" >/dev/null
done
if ! in_root apt-get install -y --no-install-recommends \
     "/tmp/debs/upgrade/cjd-agent_${bumped}.deb" "/tmp/debs/upgrade/cjd-hub_${bumped}.deb" \
     >"$logs/apt-upgrade.log" 2>&1; then
  fail "apt-get install of the upgraded packages failed" "$logs/apt-upgrade.log"
fi
grep -q "Unpacking cjd-hub ($bumped) over ($version)" "$logs/apt-upgrade.log" || \
  fail "apt-get did not upgrade cjd-hub from $version" "$logs/apt-upgrade.log"
for pkg in cjd-agent cjd-hub; do
  st=$(in_root dpkg-query -W "-f=$STATUS_VERSION" "$pkg" 2>/dev/null || true)
  [ "$st" = "install ok installed $bumped" ] || fail "$pkg after the upgrade: '$st'"
done
[ "$(in_root stat -c '%U:%G %a' /etc/cjd)" = "root:cjd 750" ] || fail "the upgrade changed /etc/cjd"
[ "$(in_root id -u cjd)" = "$uid" ] || fail "the upgrade changed the user cjd"
healthy "$hub_port" || fail "cjd-hub stopped answering during the upgrade" "$logs/hub.log"
healthy "$agent_port" || fail "cjd-agent stopped answering during the upgrade" "$logs/agent.log"

# What the postinst would have systemd do (try-restart), by hand: SIGTERM, start again.
for name in agent hub; do
  rc=0
  stop_pid "${PID[$name]}" || rc=$?
  unset "PID[$name]"
  [ "$rc" = "0" ] || fail "cjd-$name exited $rc on SIGTERM, not 0" "$logs/$name.log"
done
mv "$logs/hub.log" "$logs/hub-1.log"
mv "$logs/agent.log" "$logs/agent-1.log"
start hub /usr/bin/cjd-hub --config /var/lib/cjd/hub/hub.toml
wait_until "the upgraded cjd-hub answering GET /healthz" 60 hub healthy "$hub_port"
start agent /usr/bin/cjd-agent --config /etc/cjd/agent-pos-1.toml
wait_until "the upgraded cjd-agent answering GET /healthz" 60 agent healthy "$agent_port"
for name in hub agent; do
  exe=$(readlink "/proc/${PID[$name]}/exe")
  [ "$exe" = "$root/usr/bin/cjd-$name" ] || fail "cjd-$name runs $exe, not the upgraded $root/usr/bin/cjd-$name"
done
hub_has 1 || fail "the hub lost its event over the upgrade: $(hub_get /v1/stats | jq -c '{events_total}')"
post_sale 2
wait_until "the second sale at the upgraded hub (events_total = 2)" 60 hub hub_has 2
say "   upgraded to $bumped; restarted on the new binaries, the hub kept its event, a second arrived"

# ---------------------------------------------------------------------------------------------
say "6. remove, then purge"
# Enabled by the admin (offline, as on a machine being set up): purge must take the links away.
in_root systemctl enable cjd-hub.service cjd-agent@pos-1.service >"$logs/systemctl-enable.log" 2>&1 || \
  fail "systemctl enable in the root failed" "$logs/systemctl-enable.log"
wants="$root/etc/systemd/system/multi-user.target.wants"
if [ ! -L "$wants/cjd-hub.service" ] || [ ! -L "$wants/cjd-agent@pos-1.service" ]; then
  fail "systemctl enable made no links in $wants" "$logs/systemctl-enable.log"
fi
for name in agent hub; do
  stop_pid "${PID[$name]}" || fail "cjd-$name did not stop cleanly" "$logs/$name.log"
  unset "PID[$name]"
done
if ! in_root apt-get remove -y cjd-agent cjd-hub >"$logs/apt-remove.log" 2>&1; then
  fail "apt-get remove failed" "$logs/apt-remove.log"
fi
for f in /usr/bin/cjd-agent /usr/bin/cjd-hub /usr/bin/cjdctl /usr/lib/systemd/system/cjd-hub.service \
         /usr/lib/systemd/system/cjd-agent@.service; do
  [ ! -e "$root$f" ] || fail "$f is still there after apt-get remove"
done
[ -f "$root/var/lib/cjd/hub/hub.db" ] || fail "apt-get remove deleted the hub's data"
[ -f "$root/etc/cjd/agent-pos-1.toml" ] || fail "apt-get remove deleted the agent's config"
for pkg in cjd-agent cjd-hub; do
  st=$(in_root dpkg-query -W "-f=$STATUS" "$pkg" 2>/dev/null || true)
  [ "$st" = "deinstall ok config-files" ] || fail "$pkg after apt-get remove: '$st', not 'deinstall ok config-files'"
done
if ! in_root dpkg --purge cjd-agent cjd-hub >"$logs/dpkg-purge.log" 2>&1; then
  fail "dpkg --purge failed" "$logs/dpkg-purge.log"
fi
for pkg in cjd-agent cjd-hub; do
  st=$(in_root dpkg-query -W "-f=$STATUS" "$pkg" 2>/dev/null || true)
  case "$st" in "" | "unknown ok not-installed" | "purge ok not-installed") ;;
    *) fail "$pkg after purge: '$st'" ;;
  esac
  [ ! -e "$root/usr/share/doc/$pkg" ] || fail "/usr/share/doc/$pkg is still there after purge"
done
if [ ! -f "$root/var/lib/cjd/hub/hub.db" ] || [ ! -f "$root/etc/cjd/agent-pos-1.toml" ]; then
  fail "purge deleted configs or data (they are kept by design: keys, undelivered events)"
fi
in_root getent passwd cjd >/dev/null || fail "purge removed the user cjd (it is kept by design)"
for link in cjd-hub.service cjd-agent@pos-1.service; do
  [ ! -L "$wants/$link" ] || fail "purge left the link $wants/$link"
done
say "   removed and purged: programs, units, docs gone; /etc/cjd, /var/lib/cjd and user cjd kept"

say "PASSED"
