"""The local API's HTTP front door: bursts, HTTP/1.1 framing, and what API Gateway answers itself."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.factories import SAMPLE_RIDE
from tests.local.conftest import ROOT_SIGNER, signature, start_cloud

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
def test_malformed_or_huge_content_length_is_refused_and_invokes_nothing(local_cloud, length, status):
    before = rides_stored(local_cloud)
    url = local_cloud.outputs["ApiUrl"]
    answer = raw_request(url, request_bytes(url, "POST", {"Content-Length": length}, BODY))
    assert status_of(answer) == status, answer
    assert rides_stored(local_cloud) == before


def test_two_different_content_lengths_are_a_400(local_cloud):
    url = local_cloud.outputs["ApiUrl"]
    data = request_bytes(url, "POST", {"Content-Length": str(len(BODY))}).replace(
        b"\r\n\r\n", f"\r\nContent-Length: {len(BODY) - 1}\r\n\r\n".encode()) + BODY
    assert status_of(raw_request(url, data)) == 400


def test_a_body_that_never_fully_arrives_is_never_invoked(local_cloud):
    # Given a client that announces a ride, sends half of it and gives up
    before = rides_stored(local_cloud)
    url = local_cloud.outputs["ApiUrl"]
    raw_request(url, request_bytes(url, "POST", {"Content-Length": str(len(BODY))}, BODY[: len(BODY) // 2]),
                close_after_send=True)
    # When it sends the same ride again, properly
    assert httpx.post(url, content=BODY, auth=ROOT_SIGNER).status_code == 201
    # Then exactly one ride was stored: the half request created none
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


def test_a_burst_beyond_the_concurrency_limit_is_throttled_as_on_aws(narrow_cloud):
    # Given a producer whose concurrency limit is 2, When 100 clients post at once
    responses = burst(narrow_cloud.outputs["ApiUrl"], "narrow")
    # Then every one got an answer, no reset, no time-out: a ride, or the throttle answer of API Gateway
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 500}, statuses
    assert statuses.count(201) >= 2
    throttled = [r for r in responses if r.status_code == 500]
    assert all(r.json() == {"message": "Internal server error"} and
               r.headers["x-amzn-ErrorType"] == "InternalServerErrorException" for r in throttled)
    # and a throttled request stored nothing: as many rides as 201s
    assert rides_stored(narrow_cloud) == statuses.count(201)


def test_throttled_requests_succeed_when_retried(narrow_cloud):
    url = narrow_cloud.outputs["ApiUrl"]
    with httpx.Client(timeout=30, auth=ROOT_SIGNER) as client:
        for index in range(5):
            for _ in range(50):
                response = client.post(url, content=BODY, headers={"Idempotency-Key": f"retry-{index}"})
                if response.status_code != 500:
                    break
                time.sleep(0.05)
            assert response.status_code == 201


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
    url = local_cloud.outputs["ApiUrl"]
    for _ in range(5):
        raw_request(url, request_bytes(url, "POST", {"Content-Length": str(len(BODY))}, BODY), close_after_send=True)
    time.sleep(1)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    api_log = Path(local_cloud.options.log_dir) / "api.log"
    assert "Traceback" not in (api_log.read_text() if api_log.exists() else "")
