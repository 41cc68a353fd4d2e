"""A one-node Slurm on this machine, for tests/integration/slurm_test.py (standard library only).

Cluster().start() runs munged (as the munge user), slurmctld and slurmd in the foreground as
children of this process, each on a fresh temporary directory: their own munge socket, TCP
ports, state, spool, logs and slurm.conf (SLURM_CONF points at it; nothing under /etc/slurm
is read or written). The only thing outside that directory is the munge key, which munged
needs in /etc/munge: an existing one is used as it is, a missing one is created. stop() cancels
what is left of the jobs, ends every daemon it started by its pid (also the slurmstepd
processes slurmd forked for them, found by the unique SLURM_CONF in their environment) and
removes the directory. A daemon that outlives this process is sent SIGTERM by the kernel
(PR_SET_PDEATHSIG), so a test killed by ctest's timeout leaves no Slurm behind.

When Slurm cannot run here (not root, the packages missing, a daemon that does not come up)
start() raises Unavailable with the reason, for the test to skip with it.
"""

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TOOLS = ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "scontrol", "squeue", "sinfo", "scancel")
MUNGE_KEY = "/etc/munge/munge.key"


class Unavailable(Exception):
    """Slurm cannot run on this machine; the message says why."""


def _die_with_parent():
    """In the child, after any change of user: SIGTERM when the test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_ports(n):
    """n TCP ports nothing listens on now (the kernel's choice), for slurmctld and slurmd."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).strip()
    except OSError:
        return "(no log)"


class Cluster:
    def __init__(self):
        self.dir = None
        self.procs = []  # (name, Popen, log path), in start order
        self.conf = None
        self.env = None
        self.node = socket.gethostname().split(".")[0]
        self.bin = {}

    # -- starting ---------------------------------------------------------------------------

    def start(self, timeout=30.0):
        """Starts munged, slurmctld and slurmd; returns once sinfo shows the node idle."""
        if os.geteuid() != 0:
            raise Unavailable("needs root: munged runs as the munge user and slurmd as root "
                              "(run the tests as root)")
        # The daemons live in /usr/sbin, which a non-login PATH may lack.
        search = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        self.bin = {t: shutil.which(t, path=search) for t in TOOLS}
        missing = [t for t, path in self.bin.items() if not path]
        if missing:
            raise Unavailable(f"Slurm or munge is not installed (no {', '.join(missing)}); "
                              "run scripts/setup slurm")
        try:
            munge = pwd.getpwnam("munge")
        except KeyError:
            raise Unavailable("no munge user (the munge package creates it): run scripts/setup slurm")
        try:
            self._start(munge, timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, munge, timeout):
        self._munge_key(munge)
        self.dir = tempfile.mkdtemp(prefix="jr-slurm-")
        os.chmod(self.dir, 0o755)  # munged, as the munge user, must reach its socket below
        d = self.dir
        mdir = os.path.join(d, "munge")
        os.mkdir(mdir, 0o755)  # munged wants its socket directory readable and searchable by all
        os.chown(mdir, munge.pw_uid, munge.pw_gid)
        for sub in ("state", "spool", "log"):
            os.mkdir(os.path.join(d, sub), 0o700)
        self.munge_socket = os.path.join(mdir, "munge.sock")
        self._spawn("munged", [self.bin["munged"], "--foreground", f"--socket={self.munge_socket}",
                               f"--key-file={MUNGE_KEY}", f"--pid-file={mdir}/munged.pid",
                               f"--log-file={mdir}/munged.log", f"--seed-file={mdir}/munged.seed"],
                    user=munge.pw_uid, group=munge.pw_gid)
        self._wait(lambda: self._munge_works(), timeout, "munged to answer at " + self.munge_socket)

        ctld_port, slurmd_port = _free_ports(2)
        self.conf = os.path.join(d, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(self._slurm_conf(ctld_port, slurmd_port))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        self.env["SLURM_CONF"] = self.conf
        self._spawn("slurmctld", [self.bin["slurmctld"], "-D", "-c"])
        self._spawn("slurmd", [self.bin["slurmd"], "-D", "-N", self.node])
        self._wait(lambda: self.run("sinfo", "-h", "-n", self.node, "-o", "%T", check=False).stdout.strip()
                   .rstrip("*") == "idle", timeout, f"sinfo to show node {self.node} idle")

    def _munge_key(self, munge):
        """The key munged needs: /etc/munge/munge.key owned by munge, mode 0400/0600. An existing
        key is kept (it may be this machine's); a missing one is made of random bytes."""
        if os.path.exists(MUNGE_KEY):
            st = os.stat(MUNGE_KEY)
            if st.st_uid != munge.pw_uid or st.st_mode & 0o077:
                raise Unavailable(f"{MUNGE_KEY} exists but is not the munge user's alone "
                                  f"(owner uid {st.st_uid}, mode {st.st_mode & 0o777:o}); munged refuses it")
            return
        os.makedirs(os.path.dirname(MUNGE_KEY), mode=0o700, exist_ok=True)
        os.chown(os.path.dirname(MUNGE_KEY), munge.pw_uid, munge.pw_gid)
        fd = os.open(MUNGE_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        try:
            os.write(fd, os.urandom(1024))
            os.fchown(fd, munge.pw_uid, munge.pw_gid)
        finally:
            os.close(fd)

    def _slurm_conf(self, ctld_port, slurmd_port):
        d = self.dir
        return f"""# A one-node cluster for jr's tests, under {d}
ClusterName=jrtest
SlurmctldHost={self.node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerParameters=sched_interval=1
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

    def _spawn(self, name, argv, user=None, group=None):
        log = os.path.join(self.dir, "log", name + ".out")
        with open(log, "wb") as out:
            kwargs = {}
            if user is not None:
                kwargs = {"user": user, "group": group, "extra_groups": []}
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=self.env or os.environ, cwd=self.dir, preexec_fn=_die_with_parent,
                                    **kwargs)
        self.procs.append((name, proc, log))

    def _munge_works(self):
        cred = subprocess.run([self.bin["munge"], "-n", "-S", self.munge_socket], capture_output=True)
        if cred.returncode != 0:
            return False
        return subprocess.run([self.bin["unmunge"], "-S", self.munge_socket], input=cred.stdout,
                              capture_output=True).returncode == 0

    def _wait(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            for name, proc, log in self.procs:
                if proc.poll() is not None:
                    raise Unavailable(f"{name} exited with {proc.returncode} while waiting for {what}:\n"
                                      f"{_tail(log)}")
            if condition():
                return
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {name}:\n{_tail(log)}" for name, _, log in self.procs)
                raise Unavailable(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
            time.sleep(0.1)

    # -- using ------------------------------------------------------------------------------

    def run(self, *argv, check=True, env=None, cwd=None):
        """A Slurm command against this cluster; its CompletedProcess (text)."""
        argv = [self.bin.get(argv[0], argv[0]), *argv[1:]]
        r = subprocess.run(argv, capture_output=True, text=True, env=env or self.env, cwd=cwd, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
        return r

    def job(self, job_id):
        """`scontrol show job` as a dict (JobState, Restarts, ExitCode, …), or {} once forgotten."""
        r = self.run("scontrol", "show", "job", "-o", str(job_id), check=False)
        fields = {}
        for word in r.stdout.split():
            key, eq, value = word.partition("=")
            if eq and key not in fields:
                fields[key] = value
        return fields

    def logs(self):
        """The daemons' logs, for a failure's message."""
        out = []
        for name in ("slurmctld", "slurmd"):
            out.append(f"--- {name}.log:\n" + _tail(os.path.join(self.dir, "log", name + ".log"), 25))
        return "\n".join(out)

    # -- stopping ---------------------------------------------------------------------------

    def cancel_all(self, timeout=40.0):
        """Cancels every job of this cluster (the tests' own: it has no others) and waits until
        they are gone, so that nothing writes into a directory about to be removed."""
        if not self.env or not any(p.poll() is None for n, p, _ in self.procs if n == "slurmctld"):
            return
        self.run("scancel", "--user=root", check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.run("squeue", "-h", check=False).stdout.strip():
            time.sleep(0.1)

    def stop(self):
        """Cancels the jobs left, ends every daemon started here by its pid, removes the directory."""
        self.cancel_all()
        for name, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []
        self._kill_leftovers()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _kill_leftovers(self):
        """slurmstepd and job processes that slurmd started for this cluster and that are still
        there: found by our SLURM_CONF in their environment, ended by pid."""
        if not self.conf:
            return
        token = ("SLURM_CONF=" + self.conf).encode()
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if token in f.read().split(b"\0"):
                        pids.append(int(entry))
            except OSError:
                continue
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
