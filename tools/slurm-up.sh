#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for `pglab slurm`'s tests (run as root; Debian's
# slurm-wlm 22.05 and munge, which .ci/run installs). Idempotent: when `sinfo` already shows a
# node up, it does nothing. What 22.05 needs here (found by trial): munged running as the munge
# user with a key of its own, proctrack/linuxproc and task/none (no cgroups in a container), and
# no cgroup.conf at all (22.05 rejects CgroupPlugin=disabled and slurmd then refuses to start).
# Prints one line: the node's state, or why the cluster could not start (exit 1).
set -euo pipefail

up() { sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }
if up; then
    echo "slurm: already up ($(sinfo -h -o '%N %T' | head -1))"
    exit 0
fi
for tool in munged slurmctld slurmd sinfo sbatch; do
    command -v "$tool" >/dev/null || { echo "slurm: $tool not installed (apt-get install slurm-wlm munge)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "slurm: must run as root to start munged, slurmctld and slurmd"; exit 1; }

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)

# munge: a key, and the daemon as its own user.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged

install -d /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
rm -f /etc/slurm/cgroup.conf
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=pglab
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
KillWait=10
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 1 60); do
    if up; then
        echo "slurm: up ($(sinfo -h -o '%N %c CPUs %T' | head -1))"
        exit 0
    fi
    sleep 0.5
done
echo "slurm: the node did not come up in 30 s; see /var/log/slurm/slurmctld.log and slurmd.log"
exit 1
