"""Requests to an IAM-authorized API Gateway method, signed with SigV4 as the AWS SDKs sign them.

The ride API's POST is `AWS_IAM` by default: API Gateway answers an unsigned request with 403 "Missing
Authentication Token" and checks a signed one against the caller's `execute-api:Invoke` grants (the stack's
RideSubmitter policy). `ExecuteApiAuth` is an httpx auth that signs each request (and each retry, with a
fresh X-Amz-Date) with a boto3 session's credentials, through botocore's own signer: refreshable credentials
(an assumed role, SSO) are read at each signature.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

SIGNED = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class ExecuteApiAuth(httpx.Auth):
    requires_request_body = True

    def __init__(self, session: Any, region: str) -> None:
        self.credentials, self.region = session.get_credentials(), region
        if self.credentials is None:
            raise ValueError("no AWS credentials to sign requests with: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                             "AWS_SECRET_ACCESS_KEY")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        # what is signed: host (from the URL, port included), the body's hash, x-amz-date and the token
        signable = AWSRequest(method=request.method, url=str(request.url), data=request.content)
        SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(signable)
        for name in SIGNED:
            if name in signable.headers:
                request.headers[name] = signable.headers[name]
        yield request
