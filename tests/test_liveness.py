"""Every wait watched (issue 27, cause 3): the family of ways a Dask cluster stops being able to
finish a batch, against :class:`sim.batch.cluster.Liveness` with a stand-in client and clock.

The runner asks ``failure()`` whenever no run finishes for a few seconds. Generated histories of
the cluster (workers per question: some, none, an error; the connection closing; the scheduler
hanging) must end in exactly one line, ending with the resume hint, when and only when the rule
says: the connection closed, no answer for ``reply_s``, or no worker for ``wait_workers_s``. The
real-cluster cases (a killed last worker, a stopped scheduler) are in test_dask_cluster.py.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from invariants import assert_clear

from sim.batch import cluster

WAIT_S, REPLY_S, STEP_S = 30.0, 10.0, 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class FakeClient:
    """Answers ``nthreads`` from a script: a worker count, an exception, or "hang"."""

    def __init__(self, answers: list) -> None:
        self.answers, self.status = list(answers), "running"
        self.release = threading.Event()  # ends a hung answer (at the end of the test)
        self.go = threading.Event()  # lets an answer through (the test's settle)
        self.taken = threading.Event()  # the question in flight has taken its answer
        self.current: object = None
        self.settled: object = None  # the last question settle() saw

    def nthreads(self) -> dict:
        answer = self.current = self.answers.pop(0) if self.answers else 1
        self.taken.set()
        if answer != "hang":
            self.go.wait(30)
        if answer == "hang":
            self.release.wait(30)
            raise OSError("released")
        if isinstance(answer, Exception):
            raise answer
        return {f"tcp://w{i}": 1 for i in range(answer)}


def watch(client: FakeClient, clock: Clock, monkeypatch) -> cluster.Liveness:
    monkeypatch.setattr(cluster, "time", clock)
    return cluster.Liveness(client, "the Dask scheduler at tcp://x:1", WAIT_S, REPLY_S)


def settle(liveness: cluster.Liveness, client: FakeClient) -> None:
    """Let the question in flight be answered (a hung one stays hung)."""
    question = liveness._question
    if question is None or question is client.settled:  # none asked by this call
        return
    client.settled = question
    assert client.taken.wait(10)
    if client.current != "hang":
        client.go.set()
        liveness._question[0][0].join(10)
        client.go.clear()
    client.taken.clear()


answers = st.lists(
    st.one_of(
        st.integers(0, 3),
        st.just(0),  # runs of no workers are the case to reach
        st.just(ConnectionError("gone")),
        st.just("hang"),
    ),
    min_size=1,
    max_size=25,
)


def expected_failure(script: list) -> tuple[int, str] | None:
    """The call (0-based) at which the rule says the watch fails, and a word of its line.

    Call k reads the answer to the question asked at call k - 1 and asks again; calls are
    STEP_S apart."""
    no_workers_since = None
    for k, answer in enumerate(script, start=1):  # asked at call k - 1, read at call k
        now = k * STEP_S
        if answer == "hang":  # the watch waits on it: it fails once REPLY_S have passed
            return k - 1 + int(REPLY_S // STEP_S) + 1, "not answered"
        if isinstance(answer, Exception):
            return k, "lost"
        if answer:
            no_workers_since = None
            continue
        no_workers_since = now if no_workers_since is None else no_workers_since
        if now - no_workers_since >= WAIT_S:
            return k, "no workers"
    return None


@pytest.mark.timeout(300)
@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(script=answers)
@example(script=[0] * 8)  # no worker for exactly WAIT_S: fails then, not a question later
@example(script=[2, *[0] * 6, 1, *[0] * 7])
@example(script=[1, "hang", 1])
def test_generated_cluster_histories_fail_exactly_when_the_rule_says(script):
    with pytest.MonkeyPatch.context() as monkeypatch:
        client, clock = FakeClient(script), Clock()
        liveness = watch(client, clock, monkeypatch)
        expected = expected_failure(script)
        calls = len(script) + 4 if expected is None else expected[0] + 1
        failed_at, error = None, None
        try:
            for k in range(calls):
                clock.now = k * STEP_S
                error = liveness.failure()
                if error is not None:
                    failed_at = k
                    break
                settle(liveness, client)
        finally:
            client.release.set()
    if expected is None:
        assert failed_at is None, (script, error)
        return
    assert failed_at == expected[0] and expected[1] in str(error), (script, failed_at, error)
    assert_clear(error)
    assert str(error).endswith(cluster.RESUME_HINT)


def test_a_closed_connection_fails_at_once(monkeypatch):
    client, clock = FakeClient([1, 1]), Clock()
    liveness = watch(client, clock, monkeypatch)
    client.status = "closed"
    error = liveness.failure()
    assert error is not None and "connection closed" in str(error)


def test_workers_that_come_back_in_time_keep_the_batch(monkeypatch):
    script = [0] * int(WAIT_S // STEP_S - 1) + [2] + [0] * int(WAIT_S // STEP_S - 1) + [1]
    assert expected_failure(script) is None
    client, clock = FakeClient(script), Clock()
    liveness = watch(client, clock, monkeypatch)
    for k in range(len(script) + 2):
        clock.now = k * STEP_S
        assert liveness.failure() is None
        settle(liveness, client)
