#!/usr/bin/env bash
# A single-node Slurm on this machine, for the sweep test and for trying `hwprune sweep` with
# the slurm executor: munged, slurmctld and slurmd from Debian's slurm-wlm and munge,
# everything (key, sockets, state, logs, slurm.conf) in one folder, nothing in /etc.
#
# Usage: scripts/slurm-local.sh start DIR    starts it; prints "export SLURM_CONF=DIR/slurm.conf"
#        scripts/slurm-local.sh stop DIR     stops it (jobs cancelled, daemons ended)
# Needs root (slurmd runs the jobs). Ports: the first free pair from 6917 up (slurmctld, then
# slurmd; HWPRUNE_SLURM_PORT sets the first). Exits non-zero with the reason (and the
# daemons' last log lines) when Slurm does not come up within 60 s.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
dir=$(mkdir -p -- "$2" && cd -- "$2" && pwd)
port=${HWPRUNE_SLURM_PORT:-}
export SLURM_CONF=$dir/slurm.conf

fail() {
  echo "slurm-local: $*" >&2
  for log in munged.log slurmctld.log slurmd.log; do
    [[ -s $dir/$log ]] && { echo "--- $dir/$log (last lines)" >&2; tail -n 8 "$dir/$log" >&2; }
  done
  exit 1
}

stop() {
  if [[ -f $dir/slurm.conf ]] && command -v scancel >/dev/null; then
    timeout 10 scancel --full --quiet -u "$(id -un)" 2>/dev/null || true
  fi
  for d in slurmd slurmctld munged; do
    [[ -f $dir/$d.pid ]] || continue
    pid=$(cat "$dir/$d.pid" 2>/dev/null || true)
    [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/$d.pid"
  done
}

case $action in
  stop) stop; exit 0 ;;
  start) ;;
  *) usage ;;
esac

[[ $(id -u) -eq 0 ]] || fail "needs root: slurmd starts the jobs (run the test as root)"
for exe in munged mungekey slurmctld slurmd sinfo; do
  command -v "$exe" >/dev/null || [[ -x /usr/sbin/$exe ]] ||
    fail "$exe not found: install Debian's slurm-wlm and munge (scripts/setup.sh)"
done
export PATH=$PATH:/usr/sbin
stop  # a stale instance in the same folder
chmod 0700 "$dir"
mkdir -p "$dir/state" "$dir/spool"

# munge: a fresh key, its own socket.
rm -f "$dir/munge.key"
mungekey --create --keyfile="$dir/munge.key" --bits=1024 >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$dir/munge.key" bs=1 count=1024 status=none
chmod 0400 "$dir/munge.key"
# --origin: credentials name 127.0.0.1, so a host name that does not resolve does no harm.
munged --force --socket="$dir/munge.sock" --key-file="$dir/munge.key" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" \
  --origin=127.0.0.1 || fail "munged did not start"

# Two free ports: nothing answers on either.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ -z $port ]]; then
  port=6917
  while in_use "$port" || in_use $((port + 1)); do
    port=$((port + 2))
    ((port < 7100)) || fail "no two free ports between 6917 and 7100"
  done
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 ))
cat > "$dir/slurm.conf" <<CONF
# Written by hwprune's scripts/slurm-local.sh: one node, everything under $dir.
ClusterName=hwprune-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,batch_sched_delay=0
MinJobAge=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -i || fail "slurmctld did not start"
slurmd || fail "slurmd did not start"
for _ in $(seq 120); do
  for d in slurmctld slurmd munged; do
    pid=$(cat "$dir/$d.pid" 2>/dev/null || true)
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || fail "$d stopped while starting"
  done
  state=$(sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
  if [[ $state == idle ]]; then
    echo "export SLURM_CONF=$dir/slurm.conf"
    exit 0
  fi
  sleep 0.5
done
fail "the node did not become idle within 60 s (state: ${state:-unknown})"
