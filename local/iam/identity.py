"""Who signed a request: the access key in its signature, looked up among the credentials the local cloud issued.

Credentials the local cloud issued are STS sessions (`AssumeRole`, including those Lambda takes for each
function's execution role) and IAM users' access keys (`CreateAccessKey`): their secret is known, so their
signature is checked (local/iam/sigv4.py) and their session token and expiry with it. Any other key
(`test`, `x`, a real one) acts as the account's root user, so that `aws --endpoint-url` and boto3 work
with whatever credentials a user has: its signature cannot be checked without its secret, and is not.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.iam.principals import Principal

LAMBDA_SESSION_SECONDS = 43_200  # Lambda refreshes an environment's credentials; 12 hours covers a local run


@dataclass(frozen=True)
class Issued:
    """Credentials the local cloud issued, and whose they are."""

    principal: Principal
    access_key: str
    secret: str
    token: str | None = None
    expires: datetime | None = None

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires is not None and (now or datetime.now(UTC)) >= self.expires

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for a function's execution role."""
        found = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret}
        if self.token:
            found["AWS_SESSION_TOKEN"] = self.token
        return found


class Identities:
    """Access key -> Issued, from moto's STS sessions and IAM users (looked up once per key)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.lock = threading.Lock()
        self.known: dict[str, Issued | None] = {}

    def root(self) -> Principal:
        return Principal.root(self.account)

    def lookup(self, access_key: str) -> Issued | None:
        """The credentials of this key if the local cloud issued them; None: a key it did not issue (root)."""
        if access_key in self.known:
            found = self.known[access_key]
            if found is not None or not access_key.startswith(("ASIA", "AKIA")):
                return found
        found = self._from_moto(access_key)
        with self.lock:
            self.known[access_key] = found
        return found

    def _from_moto(self, access_key: str) -> Issued | None:
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        session = sts_backends[self.account]["aws"].get_assumed_role_from_access_key(access_key)
        if session is not None:
            expires = session.expiration.replace(tzinfo=UTC) if session.expiration.tzinfo is None \
                else session.expiration
            principal = Principal.session(session.role_arn, session.session_name)
            return Issued(principal, access_key, session.secret_access_key, session.session_token, expires)
        iam = iam_backends[self.account]["aws"]
        user = iam.get_user_from_access_key_id(access_key)
        if user is not None:
            key = next(k for k in user.access_keys if k.access_key_id == access_key)
            return Issued(Principal.user(user.arn), access_key, key.secret_access_key)
        return None

    def forget(self, access_key: str) -> None:
        with self.lock:
            self.known.pop(access_key, None)

    def session_for_role(self, role_arn: str, session_name: str, seconds: int = LAMBDA_SESSION_SECONDS) -> Issued:
        """A session of the role, as a service assumes it (the caller checks the trust policy first)."""
        from moto.sts.models import sts_backends

        session: Any = sts_backends[self.account]["aws"].assume_role(
            region_name="us-east-1", role_session_name=session_name, role_arn=role_arn, policy="",
            duration=seconds, external_id="")
        issued = self._from_moto(session.access_key_id)
        assert issued is not None
        with self.lock:
            self.known[session.access_key_id] = issued
        return issued
