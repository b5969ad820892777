#!/usr/bin/env bash
# tests/slurm/slurm.sh start|stop DIR — a throwaway single-node Slurm for the
# sweep tests: slurmctld and slurmd of Debian's slurm-wlm on this machine,
# configured in DIR (SLURM_CONF=DIR/slurm.conf), on ports of their own, no
# munge (auth/none), stopped by `stop`. `start` exits 1 with the reason when
# Slurm is missing or its daemons cannot start here (e.g. not root).
set -uo pipefail
cmd=${1:?start or stop}
dir=${2:?folder}
export SLURM_CONF="$dir/slurm.conf"

stop() {
  for pid in "$dir/slurmctld.pid" "$dir/slurmd.pid"; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null
  done
  sleep 1
  for pid in "$dir/slurmctld.pid" "$dir/slurmd.pid"; do
    [ -f "$pid" ] && kill -9 "$(cat "$pid")" 2>/dev/null
  done
  return 0
}

case $cmd in
stop) stop ;;
start)
  for tool in slurmctld slurmd sbatch squeue sinfo; do
    command -v "$tool" >/dev/null || { echo "Slurm is not installed ($tool missing; Debian: slurm-wlm)"; exit 1; }
  done
  mkdir -p "$dir/state" "$dir/spool"
  host=$(hostname -s)
  port=$(( 20000 + ($$ % 20000) ))
  user=$(id -un)
  cat > "$SLURM_CONF" <<EOF
ClusterName=mertest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/none
CredType=cred/none
SlurmUser=$user
SlurmdUser=$user
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
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=mer Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld -i >"$dir/slurmctld.out" 2>&1 || { echo "slurmctld did not start:"; tail -5 "$dir/slurmctld.out" "$dir/slurmctld.log" 2>/dev/null; exit 1; }
  slurmd >"$dir/slurmd.out" 2>&1 || { echo "slurmd did not start:"; tail -5 "$dir/slurmd.out" "$dir/slurmd.log" 2>/dev/null; stop; exit 1; }
  for _ in $(seq 1 60); do
    [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && exit 0
    sleep 0.5
  done
  echo "the Slurm node never became idle:"; sinfo 2>&1; tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" 2>/dev/null
  stop
  exit 1
  ;;
*) echo "usage: $0 start|stop DIR"; exit 2 ;;
esac
