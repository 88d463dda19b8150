"""The local API's HTTP front door: bursts, HTTP/1.1 framing, and what API Gateway answers itself."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.factories import SAMPLE_RIDE
from tests.local.conftest import ROOT_SIGNER, signature, start_cloud

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)

BODY = json.dumps(SAMPLE_RIDE).encode()


def raw_request(url: str, data: bytes, *, timeout: float = 15, close_after_send: bool = False,
                half_close: bool = False) -> bytes:
    """Send bytes as they are on one connection to the API's host; everything it answers until it closes.
    `half_close`: shut our write side once sent, as some tools and proxies do."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as connection:
        connection.sendall(data)
        if close_after_send:
            return b""
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def request_bytes(url: str, method: str, headers: dict[str, str], body: bytes = b"", path: str | None = None) -> bytes:
    parts = urlsplit(url)
    lines = [f"{method} {path or parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def rides_stored(cloud) -> int:
    dynamodb = cloud.clients.client("dynamodb")
    return int(dynamodb.scan(TableName=cloud.outputs["RidesTableName"], Select="COUNT")["Count"])


@dataclass
class Invocations:
    """The invocations of the functions the API runs, counted as their environments report them."""

    started: int = 0
    running: int = 0
    most_at_once: int = 0


def count_invocations(cloud, monkeypatch: pytest.MonkeyPatch) -> Invocations:
    """Count, from now on, every invocation of a function the API invokes (the producer), whatever it answers.

    A refused request must reach no function at all: a producer that got a truncated body would answer its
    own 400 and store nothing, so a status and a count of rides cannot tell the two apart; this can.
    """
    seen, lock = Invocations(), threading.Lock()
    begin, end = cloud.metrics.begin, cloud.metrics.end  # each environment tells this observer (metrics.py)

    def counted_begin(function_name: str) -> None:
        with lock:
            seen.started += 1
            seen.running += 1
            seen.most_at_once = max(seen.most_at_once, seen.running)
        begin(function_name)

    def counted_end(record) -> None:
        with lock:
            seen.running -= 1
        end(record)

    monkeypatch.setattr(cloud.metrics, "begin", counted_begin)
    monkeypatch.setattr(cloud.metrics, "end", counted_end)
    return seen


def test_a_chunked_body_is_read_whole(local_cloud):
    chunked = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (BODY[:20], BODY[20:])) + b"0\r\n\r\n"
    answer = raw_request(local_cloud.outputs["ApiUrl"], request_bytes(
        local_cloud.outputs["ApiUrl"], "POST", {"Transfer-Encoding": "chunked", "Content-Type": "application/json",
                                                **signature(local_cloud.outputs["ApiUrl"], BODY)}, chunked))
    assert status_of(answer) == 201, answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]


@pytest.mark.parametrize(("length", "status"), [("abc", 400), ("-5", 400), ("1.5", 400),
                                               ("99999999999999999999999999", 400), ("10485761", 413)],
                         ids=["not a number", "negative", "fraction", "too many digits", "beyond 10 MB"])
def test_malformed_or_huge_content_length_is_refused_and_invokes_nothing(local_cloud, monkeypatch, length, status):
    """The front door answers a bad Content-Length itself: the producer is never invoked (not merely no ride)."""
    before, invocations = rides_stored(local_cloud), count_invocations(local_cloud, monkeypatch)
    url = local_cloud.outputs["ApiUrl"]
    # signed, so that a front door that let it through would reach the producer, not IAM's 403
    answer = raw_request(url, request_bytes(url, "POST", {"Content-Length": length, **signature(url, BODY)}, BODY))
    assert status_of(answer) == status, answer
    assert invocations.started == 0
    assert rides_stored(local_cloud) == before


def test_two_different_content_lengths_are_a_400(local_cloud, monkeypatch):
    """Conflicting lengths are the front door's 400, not the producer's: nothing is invoked."""
    url, invocations = local_cloud.outputs["ApiUrl"], count_invocations(local_cloud, monkeypatch)
    data = request_bytes(url, "POST", {"Content-Length": str(len(BODY)), **signature(url, BODY)}).replace(
        b"\r\n\r\n", f"\r\nContent-Length: {len(BODY) - 1}\r\n\r\n".encode()) + BODY
    assert status_of(raw_request(url, data)) == 400
    assert invocations.started == 0


def test_a_body_that_never_fully_arrives_is_never_invoked(local_cloud, monkeypatch):
    """Half a body then a hang-up reaches no function: the producer runs once, for the whole retry only."""
    # Given a client that announces a ride, sends half of it and gives up
    before, invocations = rides_stored(local_cloud), count_invocations(local_cloud, monkeypatch)
    url = local_cloud.outputs["ApiUrl"]
    half = BODY[: len(BODY) // 2]  # signed as it arrives: handed on, it would pass IAM and reach the producer
    raw_request(url, request_bytes(url, "POST", {"Content-Length": str(len(BODY)), **signature(url, half)}, half),
                close_after_send=True)
    time.sleep(0.5)  # time enough for a front door that handed the half body on to have invoked the producer
    # When it sends the same ride again, properly
    assert httpx.post(url, content=BODY, auth=ROOT_SIGNER).status_code == 201
    # Then the producer ran once, for the whole ride, and exactly one ride was stored
    assert invocations.started == 1
    assert rides_stored(local_cloud) == before + 1


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE", "DELETE", "BREW"])
def test_methods_the_route_lacks_are_answered_as_api_gateway_does(local_cloud, method):
    url = local_cloud.outputs["ApiUrl"]
    answer = raw_request(url, request_bytes(url, method, {}))
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n")[1:])
    assert status_of(answer) == 403
    assert {k.lower(): v for k, v in headers.items()}["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    if method != "HEAD":
        assert json.loads(body) == {"message": "Missing Authentication Token"}


def test_unknown_path_is_missing_authentication_token(local_cloud):
    response = httpx.post(local_cloud.api_url + "/no-such-path", content=BODY)
    assert response.status_code == 403 and response.json() == {"message": "Missing Authentication Token"}


def test_a_body_over_10_mb_is_413(local_cloud):
    response = httpx.post(local_cloud.outputs["ApiUrl"], content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413 and response.json() == {"message": "Request Too Long"}


@pytest.fixture(scope="module")
def narrow_cloud(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory):
    """The producer's concurrency limited to 2 (a sandbox account's limit is 10), so that a burst is throttled."""
    cloud = start_cloud(cloud_assembly, tmp_path_factory.mktemp("logs"), function_concurrency=2)
    yield cloud
    cloud.stop()


def burst(url: str, prefix: str) -> list[httpx.Response]:
    """100 clients that each open a connection and post a ride at the same moment (the stage's burst limit)."""
    def post(index: int) -> httpx.Response:
        with httpx.Client(timeout=60, auth=ROOT_SIGNER) as client:
            return client.post(url, content=BODY, headers={"Idempotency-Key": f"{prefix}-{index}"})

    with ThreadPoolExecutor(max_workers=100) as pool:
        return list(pool.map(post, range(100)))


def test_a_burst_of_100_posts_all_become_rides(local_cloud):
    # Given the default limits: Lambda's concurrency limit, ten local environments for the producer
    before = rides_stored(local_cloud)
    # When 100 clients post at once, Then every one is answered 201: those beyond ten wait for an environment
    assert [r.status_code for r in burst(local_cloud.outputs["ApiUrl"], "all")] == [201] * 100
    assert rides_stored(local_cloud) == before + 100


def test_a_burst_beyond_the_concurrency_limit_is_throttled_as_on_aws(narrow_cloud, monkeypatch):
    """Beyond its concurrency limit the producer is throttled (API Gateway's 500), never run more than 2 at once,
    and a throttled request invokes nothing: fails if nothing is throttled, or a throttled request ran."""
    # Given a producer whose concurrency limit is 2, When 100 clients post at once
    invocations = count_invocations(narrow_cloud, monkeypatch)
    responses = burst(narrow_cloud.outputs["ApiUrl"], "narrow")
    # Then every one got an answer, no reset, no time-out: a ride, or the throttle answer of API Gateway
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) == {201, 500} and statuses[201] >= 2, statuses
    throttled = [r for r in responses if r.status_code == 500]
    for response in throttled:
        assert response.json() == {"message": "Internal server error"}
        assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    # and a throttled request reached no function: as many invocations, and rides, as 201s
    assert invocations.started == statuses[201] and invocations.most_at_once <= 2
    assert rides_stored(narrow_cloud) == statuses[201]


def test_throttled_requests_succeed_when_retried(narrow_cloud):
    """A client that retries on the throttle's 500 gets through once the throttle lifts, each ride stored once.
    The producer is held at reserved concurrency 0 (every request throttled) for the first second of the
    retries, so the retry branch is sure to run."""
    url, lambda_client = narrow_cloud.outputs["ApiUrl"], narrow_cloud.clients.client("lambda")
    [route] = narrow_cloud.deployment.routes
    before, attempts = rides_stored(narrow_cloud), Counter[int]()
    lambda_client.put_function_concurrency(FunctionName=route.function.name, ReservedConcurrentExecutions=0)
    lift = threading.Timer(1.0, lambda_client.delete_function_concurrency, kwargs={
        "FunctionName": route.function.name})
    try:
        time.sleep(1.1)  # API Gateway's view of the function is a second old at most
        lift.start()
        with httpx.Client(timeout=30, auth=ROOT_SIGNER) as client:
            for index in range(5):
                for _ in range(200):
                    attempts[index] += 1
                    response = client.post(url, content=BODY, headers={"Idempotency-Key": f"retry-{index}"})
                    if response.status_code != 500:
                        break
                    time.sleep(0.05)
                assert response.status_code == 201
    finally:
        lift.join()
    assert attempts[0] > 1, attempts  # the first ride was throttled, then retried
    assert rides_stored(narrow_cloud) == before + 5


def test_a_request_followed_by_a_half_close_gets_its_answer(local_cloud):
    url, before = local_cloud.outputs["ApiUrl"], rides_stored(local_cloud)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(BODY)), **signature(url, BODY)}
    answer = raw_request(url, request_bytes(url, "POST", headers, BODY).replace(b"Connection: close\r\n", b""),
                         half_close=True)
    assert status_of(answer) == 201, answer
    assert rides_stored(local_cloud) == before + 1
    # half a body, then EOF: a disconnect, as before; nothing is invoked
    partial = request_bytes(url, "POST", {**headers, "Content-Length": str(len(BODY) + 10)}, BODY)
    assert raw_request(url, partial, half_close=True) == b""
    assert rides_stored(local_cloud) == before + 1


def test_requests_back_to_back_on_one_keep_alive_connection_all_get_answers(local_cloud):
    url = local_cloud.outputs["ApiUrl"]
    one = request_bytes(url, "POST", {"Content-Type": "application/json", "Content-Length": str(len(BODY)),
                                      **signature(url, BODY)}, BODY).replace(b"Connection: close\r\n", b"")
    answer = raw_request(url, one * 5, half_close=True)
    assert answer.count(b"HTTP/1.1 201") == 5, answer[:400]


def test_client_disconnects_leave_no_traceback(local_cloud, capfd):
    """Clients that hang up mid-body leave no traceback on the terminal or in api.log (which must exist: the
    front door writes its notices there, and a missing log would hide a traceback)."""
    url = local_cloud.outputs["ApiUrl"]
    api_log = Path(local_cloud.options.log_dir) / "api.log"
    assert api_log.is_file(), f"no {api_log}: the front door's notices go nowhere this test can read"
    for _ in range(5):
        raw_request(url, request_bytes(url, "POST", {"Content-Length": str(len(BODY))}, BODY), close_after_send=True)
    time.sleep(1)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "Traceback" not in api_log.read_text()
