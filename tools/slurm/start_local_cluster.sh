#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (munged, MariaDB and slurmdbd for
# accounting, so sacct works; slurmctld, slurmd) for
# `bazel run //benchmarks:suite -- --launcher=slurm` and //tests/benchmarks:slurm_test.
# Needs root and Debian's slurm-wlm, slurmdbd, mariadb-server and munge (tools/bootstrap.sh
# installs them); works in
# a container without systemd or cgroups (proctrack/linuxproc, task/none). Idempotent:
# daemons already running are kept, and a slurm.conf it did not write is left alone.
# Exits 0 once `sinfo` shows the node idle; non-zero, with the reason, otherwise.
set -uo pipefail

say() { printf 'slurm-cluster: %s\n' "$*"; }
die() { printf 'slurm-cluster: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (munged and slurmd run as root here)"
for cmd in munged slurmctld slurmd slurmdbd mysqld_safe sinfo scontrol sacctmgr; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] ||
    die "$cmd not found: install Debian's slurm-wlm, slurmdbd, mariadb-server and munge (tools/bootstrap.sh)"
done
export PATH="$PATH:/usr/sbin"

conf=/etc/slurm/slurm.conf
marker="# Written by tools/slurm/start_local_cluster.sh"
host=$(hostname -s)
cpus=$(nproc --all)
# The node's memory in MB, a little under what the machine has.
mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge \
  /var/lib/munge /var/log/munge
if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
  say "keeping the existing $conf (not written by this script)"
else
  new=$(mktemp)
  cat >"$new" <<CONF
$marker
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
# Accounting through slurmdbd (sacct); finished jobs also stay in scontrol/squeue for
# an hour, and each one's state and exit code is appended to the job completion log.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
# Each job gets its share of memory per CPU, so jobs share the node.
DefMemPerCPU=$((mem / cpus))
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  if [ -f "$conf" ] && cmp -s "$new" "$conf"; then
    rm -f "$new"
  else
    mv "$new" "$conf" && chmod 644 "$conf"
    say "wrote $conf (node $host, $cpus CPUs, ${mem} MB)"
    # Daemons started with another configuration restart below (an accounting change
    # needs a restart, not a reconfigure).
    scontrol shutdown >/dev/null 2>&1 || true
    for _ in $(seq 100); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break; sleep 0.1; done
  fi
fi

# Munge: a key, then the daemon.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null || die "cannot write the munge key"
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged || die "munged did not start"
  else
    /usr/sbin/munged --force || die "munged did not start"
  fi
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null 2>&1 || die "munge does not work (see /var/log/munge/munged.log)"
  say "started munged"
fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Accounting: MariaDB on localhost, its slurm_acct_db, slurmdbd, the cluster's record.
if ! mysqladmin ping >/dev/null 2>&1; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  nohup mysqld_safe --bind-address=127.0.0.1 >/var/log/slurm/mariadb.log 2>&1 &
  for _ in $(seq 150); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.2; done
  mysqladmin ping >/dev/null 2>&1 || die "MariaDB did not start (see /var/log/slurm/mariadb.log)"
  say "started MariaDB"
fi
mysql -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
          CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
          GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" ||
  die "cannot create the accounting database in MariaDB"
dbd_conf=/etc/slurm/slurmdbd.conf
if [ ! -f "$dbd_conf" ] || grep -qF "$marker" "$dbd_conf"; then
  cat >"$dbd_conf" <<CONF
$marker
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
CONF
  chmod 600 "$dbd_conf"
fi
if ! running /run/slurmdbd.pid; then
  /usr/sbin/slurmdbd || die "slurmdbd did not start (see /var/log/slurm/slurmdbd.log)"
  say "started slurmdbd"
fi
for _ in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
if ! sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx local; then
  sacctmgr -i add cluster local >/dev/null || die "sacctmgr cannot add the cluster (see /var/log/slurm/slurmdbd.log)"
fi
if ! running /run/slurmctld.pid; then
  /usr/sbin/slurmctld || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
  say "started slurmctld"
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q UP || die "slurmctld does not answer (see /var/log/slurm/slurmctld.log)"
if ! running /run/slurmd.pid; then
  /usr/sbin/slurmd || die "slurmd did not start (see /var/log/slurm/slurmd.log)"
  say "started slurmd"
fi

# Wait for the node: idle (or already running jobs).
for _ in $(seq 150); do
  state=$(sinfo -h -n "$host" -o '%T' 2>/dev/null | head -n 1)
  case "$state" in
    idle|mixed|allocated|completing) say "node $host is $state; partition debug is up"; exit 0 ;;
    down*|drain*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.2
done
die "node $host is not idle (sinfo says '${state:-nothing}'; see /var/log/slurm/slurmd.log)"
