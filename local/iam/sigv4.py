"""Checking a Signature Version 4 signature as an AWS endpoint does, for credentials the local cloud issued.

The IAM User Guide's "Create a signed AWS API request" defines it: a canonical request (method, the path
URI-encoded once more, the query sorted by encoded name, the signed headers lower-cased and trimmed, their
names, the payload's SHA-256 or the `x-amz-content-sha256` header), a string to sign with the date and
the credential scope, and an HMAC chain from the secret key. A request older or newer than 15 minutes is
refused. Only what the request says it signed (`SignedHeaders`) is read, so a proxy's added headers do not
matter, as on AWS.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote, unquote

MAX_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256 +Credential=(?P<credential>[^,\s]+), *"
                            r"SignedHeaders=(?P<headers>[^,\s]+), *Signature=(?P<signature>[0-9a-f]{64})$")


@dataclass(frozen=True)
class Signed:
    """What an Authorization header says: who signed, for which scope, which headers, which signature."""

    access_key: str
    date: str  # YYYYMMDD
    region: str
    service: str
    headers: tuple[str, ...]
    signature: str


class SignatureProblem(Exception):
    """The request's signature cannot be accepted; `kind` is "incomplete", "mismatch" or "expired"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def parse_authorization(value: str) -> Signed:
    """The parts of a SigV4 Authorization header; SignatureProblem("incomplete") if it is not one."""
    found = _AUTHORIZATION.match(value.strip()) if len(value) < 4096 else None
    if not found:
        raise SignatureProblem("incomplete", "Authorization header requires 'Credential', 'Signature' and "
                                             "'SignedHeaders' parameters, and the AWS4-HMAC-SHA256 algorithm.")
    parts = found.group("credential").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]):
        raise SignatureProblem("incomplete", f"Credential should be scoped to a valid region and service, not "
                                             f"'{found.group('credential')[:200]}'.")
    return Signed(parts[0], parts[1], parts[2], parts[3], tuple(found.group("headers").split(";")),
                  found.group("signature"))


@lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _canonical_path(raw_path: str) -> str:
    path = posixpath.normpath(raw_path) if raw_path not in ("", "/") else "/"
    if raw_path.endswith("/") and path != "/":
        path += "/"
    return quote(path if path.startswith("/") else "/" + path, safe="/~")


def _canonical_query(query: str) -> str:
    pairs = []
    for pair in query.split("&") if query else []:
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if name == "X-Amz-Signature":
            continue
        pairs.append((quote(unquote(name.replace("+", " ")), safe="-_.~"),
                      quote(unquote(value.replace("+", " ")), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _amz_date(headers: Mapping[str, str]) -> str:
    value = headers.get("x-amz-date") or ""
    if not re.fullmatch(r"\d{8}T\d{6}Z", value):
        raise SignatureProblem("incomplete", "Authorization header requires existence of either a 'X-Amz-Date' or "
                                             "a 'Date' header.")
    return value


def verify(signed: Signed, *, secret: str, method: str, raw_path: str, query: str, headers: Mapping[str, str],
           payload_hash: str, now: datetime | None = None) -> None:
    """Raise SignatureProblem unless `signed` is the signature of this request by this secret.

    `headers` are the request's headers with lower-case names; `payload_hash` the hex SHA-256 of the body."""
    amz_date = _amz_date(headers)
    moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    if abs(current - moment) > MAX_SKEW:
        earlier = "earlier" if moment < current else "later"
        bound = current - MAX_SKEW if moment < current else current + MAX_SKEW
        raise SignatureProblem("expired", f"Signature expired: {amz_date} is now {earlier} than "
                                          f"{bound:%Y%m%dT%H%M%SZ} ({current:%Y%m%dT%H%M%SZ} "
                                          f"{'-' if moment < current else '+'} 15 min.)")
    if signed.date != amz_date[:8]:
        raise SignatureProblem("mismatch", "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                                           "version of date from HTTP")
    missing = [h for h in ("host",) if h not in signed.headers]
    if missing:
        raise SignatureProblem("incomplete", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    canonical_headers = "".join(f"{name}:{' '.join(str(headers.get(name, '')).split())}\n" for name in signed.headers)
    body_hash = headers.get("x-amz-content-sha256") or payload_hash
    canonical = "\n".join((method.upper(), _canonical_path(raw_path), _canonical_query(query), canonical_headers,
                           ";".join(signed.headers), body_hash))
    scope = f"{signed.date}/{signed.region}/{signed.service}/aws4_request"
    to_sign = "\n".join(("AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = _signing_key(secret, signed.date, signed.region, signed.service)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signed.signature):
        raise SignatureProblem("mismatch", "The request signature we calculated does not match the signature you "
                                           "provided. Check your AWS Secret Access Key and signing method. Consult "
                                           "the service documentation for details.")


def wsgi_headers(environ: Mapping[str, object]) -> dict[str, str]:
    """A WSGI request's headers with lower-case names (CONTENT_TYPE and CONTENT_LENGTH included)."""
    headers = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items()
               if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers
