#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for the tests of the slurm launcher (make test-slow).
#
#   scripts/slurm_local.sh up      install slurm-wlm and munge when missing (root, apt-get), write a
#                                  one-node slurm.conf, start munged, slurmctld and slurmd, wait for
#                                  the node to be idle; prints `export SLURM_CONF=...` for clients
#   scripts/slurm_local.sh down    stop them by their pid files (idempotent; also after a failed up)
#   scripts/slurm_local.sh status  the daemons this script started that still run
#
# Everything lives under $SLURM_LOCAL_DIR (default /tmp/regopt-slurm): config, state, logs, pid
# files and munge's own socket, so a system SLURM or munge is left alone. The ports are free ones,
# picked at `up`. CPUs and memory come from this machine (`nproc`, `free -m`), or SLURM_LOCAL_CPUS.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/regopt-slurm}
DAEMONS=(slurmd slurmctld munged)  # stop order: the node first, munge last

pid_of() { cat "$DIR/run/$1.pid" 2>/dev/null || true; }

alive() {  # the daemon of this pid file runs (and is what the file says it is)
    local pid
    pid=$(pid_of "$1")
    [[ -n "$pid" ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$1" ]]
}

install_missing() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null
    then
        return
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "slurm_local: slurm-wlm and munge are missing and installing them needs root" >&2
        exit 1
    fi
    echo "slurm_local: installing slurm-wlm and munge (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() {
    local host cpus memory
    host=$(hostname -s)
    cpus=${SLURM_LOCAL_CPUS:-$(nproc)}
    memory=$(($(free -m | awk '/^Mem:/ {print $2}') * 9 / 10))
    mkdir -p "$DIR"/{run,log,state,spool,munge}
    cat >"$DIR/slurm.conf" <<EOF
# written by scripts/slurm_local.sh: a one-node cluster for tests
ClusterName=regopt-local
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    alive munged && return
    chown munge:munge "$DIR/munge"
    chmod 0755 "$DIR/munge"
    runuser -u munge -- munged --socket="$DIR/munge/munge.socket" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
        --seed-file="$DIR/munge/munged.seed"
    cp "$DIR/munge/munged.pid" "$DIR/run/munged.pid"
}

up() {
    install_missing
    if alive slurmctld && alive slurmd && alive munged; then
        echo "export SLURM_CONF=$DIR/slurm.conf"
        return
    fi
    down >/dev/null  # a half-started cluster: start again from nothing
    write_config
    export SLURM_CONF="$DIR/slurm.conf"
    start_munge
    slurmctld -c -f "$SLURM_CONF"  # -c: no jobs of an earlier start
    slurmd -f "$SLURM_CONF"
    local deadline=$((SECONDS + ${SLURM_LOCAL_WAIT_S:-60}))
    until [[ "$(sinfo -h -o %T 2>/dev/null)" == "idle" ]]; do
        if ((SECONDS > deadline)); then
            echo "slurm_local: the node is not idle after ${SLURM_LOCAL_WAIT_S:-60} s:" \
                "$(sinfo -h -o '%T %E' 2>&1); logs in $DIR/log" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "export SLURM_CONF=$SLURM_CONF"
}

down() {
    local name pid jobs
    if alive slurmctld; then  # this cluster's jobs end with their steps before slurmd stops
        export SLURM_CONF="$DIR/slurm.conf"
        jobs=$(squeue -h -o %A 2>/dev/null || true)
        if [[ -n "$jobs" ]]; then
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for _ in $(seq 150); do [[ -z "$(squeue -h -o %A 2>/dev/null)" ]] && break; sleep 0.1; done
        fi
    fi
    for name in "${DAEMONS[@]}"; do
        pid=$(pid_of "$name")
        if alive "$name"; then
            kill -TERM "$pid"
            for _ in $(seq 100); do alive "$name" || break; sleep 0.1; done
            alive "$name" && kill -KILL "$pid"
        fi
        rm -f "$DIR/run/$name.pid"
    done
    echo "slurm_local: stopped (state and logs kept in $DIR)"
}

status() {
    local name
    for name in "${DAEMONS[@]}"; do
        if alive "$name"; then echo "$name $(pid_of "$name")"; fi
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
