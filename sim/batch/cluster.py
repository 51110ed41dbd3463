"""Connecting to a Dask scheduler so that every failure is one clear line, and fast.

``distributed.Client(address, timeout=...)`` waits forever on a port where something accepts the
connection but never speaks Dask, tries to allocate exabytes when an HTTP service answers, raises
TypeError for ``tls://`` without a security object, and a scheduler without workers leaves a
batch waiting in silence. So, before a Client is made:

1. the address must be ``tcp://HOST:PORT`` (or ``HOST:PORT``): TLS, UCX, WebSocket and in-process
   schedulers need configuration minersim does not pass, and are refused by name;
2. a plain socket connects within the connect timeout and must receive the first bytes of Dask's
   handshake (a scheduler speaks first: an 8-byte length, then a frame count) within it;
3. Dask's handshake must complete within it (a connection of distributed's own, closed at once);
4. the Client is made in a helper thread with the same deadline;
5. the scheduler must have at least one worker within ``wait_workers_s``.

During a batch, :func:`batch_error` turns a worker that died too often (KilledWorker) and a lost
scheduler into one line that says the finished runs are saved and how to resume, and
:class:`Liveness` notices, within bounded times, a scheduler that closed, one that stopped
answering and one whose last worker is gone (tasks would wait for a worker forever). While the client
exists, distributed's own loggers are silenced (even CRITICAL): their tracebacks of reconnection
attempts would bury that line (the scheduler's and workers' logs keep the details).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ipaddress
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sim.errors import MinersimError

#: Seconds to connect to a scheduler and hear its handshake.
CONNECT_TIMEOUT_S = 10.0
#: Seconds to wait for the scheduler to have a worker.
WORKER_WAIT_S = 60.0
#: A Dask handshake is a few hundred bytes; a first length beyond this is not Dask speaking.
MAX_HANDSHAKE_BYTES = 1 << 20
RESUME_HINT = "finished runs are saved; run the same command again to resume"
UNSUPPORTED = {
    "tls": "TLS needs certificates (a distributed.Security object) that minersim does not pass",
    "ucx": "UCX needs the ucx-py transport, which minersim does not install",
    "ws": "WebSocket transports are not supported",
    "wss": "WebSocket transports are not supported",
    "inproc": "an in-process scheduler lives in another process's memory",
}


@dataclass(frozen=True)
class SchedulerAddress:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def parse_address(address: str) -> SchedulerAddress:
    """``tcp://HOST:PORT`` (or ``HOST:PORT``; IPv6 hosts in brackets) as host and port."""
    scheme, sep, rest = address.strip().partition("://")
    if not sep:
        scheme, rest = "tcp", address.strip()
    scheme = scheme.lower()
    if scheme != "tcp":
        why = UNSUPPORTED.get(scheme, "only tcp:// schedulers are supported")
        raise MinersimError(f"scheduler address {address!r}: {scheme}:// is not supported ({why})")
    host, colon, port_text = rest.rstrip("/").rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port_text.isascii() or not port_text.isdigit():
        raise MinersimError(f"scheduler address {address!r} must look like tcp://HOST:PORT")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise MinersimError(f"scheduler address {address!r}: port must be 1-65535")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise MinersimError(f"scheduler address {address!r}: bad IPv6 host") from None
    return SchedulerAddress(host, port)


def probe(address: SchedulerAddress, timeout_s: float) -> None:
    """Connect with a plain socket and wait for the start of a Dask handshake."""
    where = f"the Dask scheduler at {address.url}"
    deadline = time.monotonic() + timeout_s
    try:
        sock = socket.create_connection((address.host, address.port), timeout=timeout_s)
    except socket.gaierror:
        raise MinersimError(f"cannot connect to {where}: unknown host") from None
    except TimeoutError:
        raise MinersimError(
            f"cannot connect to {where}: no answer within {timeout_s:g} s"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MinersimError(f"cannot connect to {where}: {reason}") from None
    with sock:
        head = b""
        try:
            while len(head) < 16:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(16 - len(head))
                if not chunk:
                    break
                head += chunk
        except TimeoutError:
            raise MinersimError(
                f"{where} accepted the connection but sent nothing within {timeout_s:g} s: "
                "is it a Dask scheduler (and not hung)?"
            ) from None
        except OSError as exc:
            raise MinersimError(f"cannot connect to {where}: {exc.strerror or exc}") from None
    if len(head) < 16:
        raise MinersimError(f"{where} closed the connection: is it a Dask scheduler?")
    total, frames = struct.unpack("<QQ", head)
    if not (16 <= total + 8 <= MAX_HANDSHAKE_BYTES and 1 <= frames <= 64):
        raise MinersimError(
            f"{where} answered, but not in Dask's protocol: is the port a Dask scheduler's?"
        )


def handshake(url: str, timeout_s: float) -> None:
    """Exchange Dask's handshake with the scheduler (a connection of distributed's own, closed
    at once): MinersimError if it does not complete within ``timeout_s``. A server whose first
    bytes look like Dask's but whose handshake is garbage is refused here, before a Client
    exists (a failed Client stayed behind and, at exit, waited 20 s to close, then printed a
    traceback)."""
    import asyncio

    from distributed.comm import connect

    async def talk() -> None:
        comm = await connect(url, timeout=timeout_s)
        await comm.close()

    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(talk(), timeout_s))
        except BaseException as exc:  # read by the waiting thread
            box["error"] = exc

    with quiet_distributed_logs():
        thread = threading.Thread(target=run, name="minersim-dask-handshake", daemon=True)
        thread.start()
        thread.join(timeout_s + 5.0)
    if thread.is_alive() or "error" in box:
        error = box.get("error")
        reason = f" ({type(error).__name__})" if error is not None else ""
        raise MinersimError(
            f"the Dask scheduler at {url} did not complete Dask's handshake within "
            f"{timeout_s:g} s{reason}: is the port a Dask scheduler's?"
        )


def _make_client(url: str, timeout_s: float):
    """A distributed Client, or MinersimError if it is not ready within ``timeout_s``."""
    from distributed import Client

    box: dict[str, object] = {}

    def connect() -> None:
        try:
            box["client"] = Client(url, timeout=f"{timeout_s}s", set_as_default=False)
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc

    thread = threading.Thread(target=connect, name="minersim-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout_s + 5.0)
    if "client" in box:
        return box["client"]
    error = box.get("error")
    reason = f": {type(error).__name__}: {error}" if error is not None else ""
    raise MinersimError(
        f"cannot connect to the Dask scheduler at {url} within {timeout_s:g} s{reason}"
    )


@contextlib.contextmanager
def dask_client(
    address: str,
    connect_timeout_s: float | None = None,
    wait_workers_s: float = WORKER_WAIT_S,
) -> Iterator[object]:
    """A Client of the scheduler at ``address`` that has at least one worker (connect timeout:
    CONNECT_TIMEOUT_S unless given)."""
    if connect_timeout_s is None:
        connect_timeout_s = CONNECT_TIMEOUT_S
    parsed = parse_address(address)

    probe(parsed, connect_timeout_s)
    handshake(parsed.url, connect_timeout_s)
    with quiet_distributed_logs():
        client = _make_client(parsed.url, connect_timeout_s)
        with _closing(client):
            try:
                client.wait_for_workers(1, timeout=wait_workers_s)
            except Exception:
                raise MinersimError(
                    f"the Dask scheduler at {parsed.url} has no workers after "
                    f"{wait_workers_s:g} s: start some with `dask worker {parsed.url}` (or raise "
                    "--wait-workers)"
                ) from None
            yield client


@contextlib.contextmanager
def _closing(client) -> Iterator[None]:
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)


#: A log level above CRITICAL: distributed logs a garbled message from a server at CRITICAL,
#: with a traceback, before the error that the command line reports in one line.
SILENT = logging.CRITICAL + 1
#: Loggers a Dask client writes through: its own, and tornado's, whose event loop logs the
#: futures cancelled when a batch stops on an error (FutureCancelledError tracebacks).
DISTRIBUTED_LOGGERS = ("distributed", "tornado")


def _distributed_loggers() -> list[logging.Logger]:
    names = [*DISTRIBUTED_LOGGERS, *logging.root.manager.loggerDict]
    chosen = [n for n in names if n.split(".")[0] in DISTRIBUTED_LOGGERS]
    return [logging.getLogger(name) for name in dict.fromkeys(chosen)]


@contextlib.contextmanager
def quiet_distributed_logs(level: int = SILENT) -> Iterator[None]:
    """Raise the level of the ``distributed`` and ``tornado`` loggers for the duration of the
    block."""
    loggers = _distributed_loggers()
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, before, strict=True):
            logger.setLevel(old)


def silence_distributed_logs() -> None:
    """Silence the ``distributed`` and ``tornado`` loggers for the rest of the
    process (the command line reports its own one-line errors; a client's reconnection attempts
    may log after it is closed)."""
    import distributed  # noqa: F401  (its import configures the loggers; set them after)

    for logger in _distributed_loggers():
        logger.setLevel(SILENT)


def batch_error(exc: BaseException, where: str) -> MinersimError | None:
    """One line for the ways a Dask batch fails outside the simulation, else None."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return MinersimError(
            f"{where}: the Dask workers running it died repeatedly (KilledWorker: out of memory, "
            f"killed, or crashed); {RESUME_HINT}"
        )
    if isinstance(exc, cf.CancelledError) or name in (
        "CancelledError",
        "FutureCancelledError",
        "CommClosedError",
    ):
        return MinersimError(
            f"{where}: lost the Dask scheduler (the run was cancelled); {RESUME_HINT}"
        )
    return None


def scheduler_lost(client: object) -> bool:
    """True when the client's connection to its scheduler is gone for good."""
    return getattr(client, "status", "running") in ("closed", "closing", "failed")


class Liveness:
    """Whether a Dask cluster can still finish a batch, asked while no run finishes.

    Each :meth:`failure` call looks at the client's connection and at the answer to the last
    question to the scheduler (how many workers it has), and asks again: a question runs in a
    daemon thread, so a scheduler that stops answering never blocks the batch. Failures, each
    one line ending with :data:`RESUME_HINT`: the connection closed; no answer within
    ``reply_s``; no worker for ``wait_workers_s`` (the last one died and none came back).
    """

    def __init__(self, client: object, where: str, wait_workers_s: float, reply_s: float):
        self.client, self.where = client, where
        self.wait_workers_s, self.reply_s = wait_workers_s, reply_s
        self._question: tuple[tuple[threading.Thread, dict], float] | None = None
        self._no_workers_since: float | None = None

    def failure(self) -> MinersimError | None:
        """One line if the cluster cannot finish the batch, else None. Reads the answer to the
        last question (if it has come) and asks the next one."""
        where = self.where
        if scheduler_lost(self.client):
            return MinersimError(f"lost {where} (the connection closed); {RESUME_HINT}")
        now = time.monotonic()
        if self._question is not None:
            (thread, answer), asked = self._question
            if thread.is_alive():
                if now - asked > self.reply_s:
                    return MinersimError(
                        f"{where} has not answered for {self.reply_s:g} s (hung, or the "
                        f"network is down); {RESUME_HINT}"
                    )
                return None
            self._question = None
            error = self._judge(answer, now)
            if error is not None:
                return error
        self._question = self._ask(), now
        return None

    def _judge(self, answer: dict, now: float) -> MinersimError | None:
        where = self.where
        if "error" in answer:
            return MinersimError(f"lost {where} ({type(answer['error']).__name__}); {RESUME_HINT}")
        if answer["workers"]:
            self._no_workers_since = None
            return None
        if self._no_workers_since is None:
            self._no_workers_since = now
        if now - self._no_workers_since >= self.wait_workers_s:
            return MinersimError(
                f"{where} has had no workers for {self.wait_workers_s:g} s (the last one died "
                f"or was stopped); {RESUME_HINT}"
            )
        return None

    def _ask(self) -> tuple[threading.Thread, dict]:
        answer: dict[str, object] = {}

        def ask() -> None:
            try:
                answer["workers"] = len(self.client.nthreads())
            except BaseException as exc:  # read by failure()
                answer["error"] = exc

        thread = threading.Thread(target=ask, name="minersim-dask-liveness", daemon=True)
        thread.start()
        return thread, answer


__all__ = [
    "CONNECT_TIMEOUT_S",
    "RESUME_HINT",
    "WORKER_WAIT_S",
    "Liveness",
    "SchedulerAddress",
    "batch_error",
    "dask_client",
    "handshake",
    "parse_address",
    "probe",
    "scheduler_lost",
]
