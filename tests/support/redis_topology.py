"""Real Redis topologies on free loopback ports, started and stopped by the tests: a 3-master Redis Cluster, and
a master with a replica watched by three sentinels. Nothing else is ever touched."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import free_port
from tests.support.waits import eventually

__all__ = ["ClusterOf3", "SentinelSet"]


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: see README.md > Prerequisites")
    return found


def _answers(port: int, command: bytes = b"PING\r\n", expect: bytes = b"+PONG") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(command)
            return conn.recv(64).startswith(expect)
    except OSError:
        return False


def _cli(*args: str, timeout: float = 30) -> str:
    return subprocess.run([_binary("redis-cli"), *args], capture_output=True, text=True, timeout=timeout,
                          check=True).stdout


class _Processes:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="meetbot-redis-topology-"))
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self, port: int, *args: str) -> None:
        work = self.dir / str(port)
        work.mkdir(parents=True, exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [_binary("redis-server"), *args, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(work), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self, ports: list[int], within: float = 10) -> None:
        """Until every port answers PING, all within `within`; a failure says what the servers logged."""
        deadline = time.monotonic() + within
        for port in ports:
            eventually(lambda port=port: _answers(port),
                       lambda port=port: f"redis on {port} to start; the logs: {self._logs()}",
                       deadline - time.monotonic(), every=0.02)

    def _logs(self) -> str:
        return " ".join(p.read_text()[-300:] for p in self.dir.glob("*.log"))

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait(timeout=5)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is a valid port and free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterOf3(_Processes):
    """Three masters, no replicas: every slot is served, and keys of different hash tags land on different nodes."""

    def __init__(self) -> None:
        super().__init__()
        self.ports = [_cluster_port() for _ in range(3)]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> ClusterOf3:
        for port in self.ports:
            self.spawn(port, "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
                       "--cluster-node-timeout", "2000")
        self.wait(self.ports)
        _cli("--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-replicas", "0",
             "--cluster-yes")
        eventually(lambda: "cluster_state:ok" in _cli("-p", str(self.ports[0]), "cluster", "info"),
                   "the cluster to become ok", 20, every=0.1)
        return self


class SentinelSet(_Processes):
    """A master, one replica (or more) and three sentinels (quorum 2) that fail over within a few seconds.

    `min_replicas` sets `min-replicas-to-write` on every node, as the README tells operators to."""

    MASTER = "meetbot"

    def __init__(self, *, replicas: int = 1, min_replicas: int = 0) -> None:
        super().__init__()
        self.master_port = free_port()
        self.replica_ports = [free_port() for _ in range(replicas)]
        self.replica_port = self.replica_ports[0]
        self.sentinel_ports = [free_port() for _ in range(3)]
        # A replica's first sync starts at once (the default waits 5 s for more replicas to share the transfer).
        self._node_args = ("--min-replicas-to-write", str(min_replicas), "--min-replicas-max-lag", "10",
                           "--repl-diskless-sync-delay", "0")

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def start(self) -> SentinelSet:
        self.spawn(self.master_port, *self._node_args)
        for port in self.replica_ports:
            self.spawn(port, *self._node_args, "--replicaof", "127.0.0.1", str(self.master_port))
        self.wait([self.master_port, *self.replica_ports])
        for port in self.sentinel_ports:
            conf = self.dir / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {self.MASTER} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {self.MASTER} 1000\n"
                f"sentinel failover-timeout {self.MASTER} 5000\n"
                f"sentinel parallel-syncs {self.MASTER} 1\n")
            self.processes[port] = subprocess.Popen(
                [_binary("redis-server"), str(conf), "--sentinel", "--loglevel", "warning",
                 "--logfile", str(self.dir / f"sentinel-{port}.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait(self.sentinel_ports)
        deadline = time.monotonic() + 30
        # Attached is not enough: a replica promoted before its first sync finished would come up empty.
        online = len(self.replica_ports)
        eventually(lambda: _cli("-p", str(self.master_port), "info", "replication").count("state=online") >= online,
                   "the replica to come in sync", 30, every=0.1)
        # A sentinel learns of replicas from the master's INFO (every 10 s at first): wait until every sentinel
        # knows the replica and the other sentinels, or a failover has nobody to promote.
        for port in self.sentinel_ports:
            eventually(lambda port=port: self._knows_everyone(port),
                       f"sentinel {port} to discover the replica and its peers", deadline - time.monotonic(),
                       every=0.2)
        return self

    def _knows_everyone(self, sentinel_port: int) -> bool:
        master = _cli("-p", str(sentinel_port), "sentinel", "master", self.MASTER).split()
        fields = dict(zip(master[::2], master[1::2], strict=False))
        return fields.get("num-slaves") == str(len(self.replica_ports)) and fields.get("num-other-sentinels") == "2"

    def current_master(self) -> int:
        answer = _cli("-p", str(self.sentinel_ports[0]), "sentinel", "get-master-addr-by-name", self.MASTER)
        return int(answer.split()[1])

    def failover(self, within: float = 30) -> int:
        """SENTINEL FAILOVER, then wait until the sentinels name the new master; its port."""
        before = self.current_master()
        deadline = time.monotonic() + within
        eventually(lambda: "OK" in _cli("-p", str(self.sentinel_ports[0]), "sentinel", "failover", self.MASTER),
                   "the sentinels to accept SENTINEL FAILOVER", within, every=0.5)
        return self._new_master(before, deadline)

    def kill_master(self, within: float = 30) -> int:
        """kill -9 the master, then wait until the sentinels promote a replica; its port."""
        before = self.current_master()
        deadline = time.monotonic() + within
        self.kill(before)
        return self._new_master(before, deadline)

    def replicated(self, within: float = 30) -> None:
        """Wait until a replica follows the current master again (after a failover the old master is turned into
        one and resyncs): until then meetbot honestly refuses the writes that must reach a replica."""
        eventually(lambda: "slave0:" in _cli("-p", str(self.current_master()), "info", "replication")
                   and "state=online" in _cli("-p", str(self.current_master()), "info", "replication"),
                   "a replica following the new master", within, every=0.2)

    def _new_master(self, before: int, deadline: float) -> int:
        """Wait, until `deadline` (time.monotonic()), for the sentinels to name another master than `before`
        and for it to act as one; its port."""
        eventually(lambda: self.current_master() != before, "the failover to happen", deadline - time.monotonic(),
                   every=0.1)
        new = self.current_master()
        eventually(lambda: "role:master" in _cli("-p", str(new), "info", "replication"),
                   "the new master to take over", deadline - time.monotonic(), every=0.1)
        return new
