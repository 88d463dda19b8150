"""Who may submit a ride, on the local cloud: the IAM-authorized POST answers as API Gateway does, judged by
the same evaluator and decision record as every AWS call (local/iam/execute_api.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import httpx
import pytest

from aws_clients.signing import ExecuteApiAuth
from local.cloud import LocalCloud
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import REGION, post_ride, signature, start_cloud

ACCOUNT = "123456789012"
BODY = json.dumps(SAMPLE_RIDE).encode()
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method. Consult the service documentation for details.")


@pytest.fixture(scope="module")
def cloud(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    running = start_cloud(cloud_assembly, tmp_path_factory.mktemp("logs"))
    yield running
    running.stop()


class Caller:
    """A workload's role, made at run time and assumed through STS by an IAM user that may assume it."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud, self.iam = cloud, cloud.clients.client("iam")
        name = f"caller-{uuid.uuid4().hex[:8]}"
        user = self.iam.create_user(UserName=name)["User"]["Arn"]
        self.role_arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": user}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        self.iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": self.role_arn}]}))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        user_session = boto3.session.Session(aws_access_key_id=key["AccessKeyId"],
                                             aws_secret_access_key=key["SecretAccessKey"], region_name=REGION)
        sts = user_session.client("sts", endpoint_url=cloud.aws_endpoint_url, verify=cloud.ca_bundle)
        credentials = sts.assume_role(RoleArn=self.role_arn, RoleSessionName="submitter")["Credentials"]
        self.session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/submitter"
        self.name, self.credentials = name, credentials
        self.session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                             aws_secret_access_key=credentials["SecretAccessKey"],
                                             aws_session_token=credentials["SessionToken"], region_name=REGION)
        self.auth = ExecuteApiAuth(self.session, REGION)

    def attach(self) -> None:
        self.iam.attach_role_policy(RoleName=self.name, PolicyArn=self.cloud.outputs["RideSubmitterPolicyArn"])

    def detach(self) -> None:
        self.iam.detach_role_policy(RoleName=self.name, PolicyArn=self.cloud.outputs["RideSubmitterPolicyArn"])


def method_arn(cloud: LocalCloud) -> str:
    [route] = cloud.deployment.routes
    return cloud.method_arn(route)


def raw_post(cloud: LocalCloud, headers: dict[str, str], body: bytes = BODY) -> httpx.Response:
    return httpx.post(cloud.outputs["ApiUrl"], content=body, headers=headers, timeout=30)


def test_the_ride_submitter_role_may_post_and_without_it_may_not_at_once(cloud):
    caller = Caller(cloud)
    url = cloud.outputs["ApiUrl"]
    denied = {"Message": f"User: {caller.session_arn} is not authorized to perform: execute-api:Invoke on "
                         f"resource: {method_arn(cloud)}"}
    assert post_ride(url, SAMPLE_RIDE, auth=caller.auth) == (403, denied)
    caller.attach()
    status, answer = post_ride(url, SAMPLE_RIDE, auth=caller.auth)
    assert status == 201 and answer["id"]
    caller.detach()
    assert post_ride(url, SAMPLE_RIDE, auth=caller.auth) == (403, denied)
    # the decisions are in the record, beside every AWS call's
    record = cloud.permissions()
    assert any(d["principal"] == caller.role_arn and d["action"] == "execute-api:Invoke" for d in record["denied"])
    assert any(d["principal"] == caller.role_arn and d["action"] == "execute-api:Invoke" for d in record["used"])


def test_an_explicit_deny_says_so(cloud):
    caller = Caller(cloud)
    caller.attach()
    caller.iam.put_role_policy(RoleName=caller.name, PolicyName="no-rides", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "execute-api:*", "Resource": "*"}]}))
    status, answer = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE, auth=caller.auth)
    assert (status, answer["Message"]) == (403, f"User: {caller.session_arn} is not authorized to perform: "
                                                f"execute-api:Invoke on resource: {method_arn(cloud)} with an "
                                                f"explicit deny")


def test_an_unsigned_request_is_missing_its_token_and_stores_nothing(cloud):
    response = raw_post(cloud, {"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_a_wrong_signature_from_issued_credentials_is_refused(cloud):
    caller = Caller(cloud)
    caller.attach()
    forged = boto3.session.Session(aws_access_key_id=caller.credentials["AccessKeyId"], aws_secret_access_key="wrong",
                                   aws_session_token=caller.credentials["SessionToken"], region_name=REGION)
    status, answer = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE, auth=ExecuteApiAuth(forged, REGION))
    assert (status, answer) == (403, {"message": MISMATCH})
    # a body changed after signing is a wrong signature too
    headers = signature(cloud.outputs["ApiUrl"], BODY, auth=caller.auth)
    response = raw_post(cloud, headers, BODY.replace(b"cmr", b"xyz"))
    assert (response.status_code, response.json()) == (403, {"message": MISMATCH})


@pytest.mark.parametrize("minutes", [-20, 20], ids=["stale", "in the future"])
def test_a_date_more_than_15_minutes_off_has_its_signature_expired(cloud, minutes):
    caller = Caller(cloud)
    caller.attach()
    headers = signature(cloud.outputs["ApiUrl"], BODY, auth=caller.auth)
    moment = datetime.now(UTC) + timedelta(minutes=minutes)
    headers["X-Amz-Date"] = f"{moment:%Y%m%dT%H%M%SZ}"
    response = raw_post(cloud, headers)
    assert response.status_code == 403
    assert response.json()["message"].startswith(f"Signature expired: {headers['X-Amz-Date']} is now "
                                                 f"{'earlier' if minutes < 0 else 'later'} than")


def test_a_session_without_its_token_is_refused(cloud):
    caller = Caller(cloud)
    caller.attach()
    headers = signature(cloud.outputs["ApiUrl"], BODY, auth=caller.auth)
    del headers["X-Amz-Security-Token"]
    response = raw_post(cloud, headers)
    assert (response.status_code, response.json()) == (
        403, {"message": "The security token included in the request is invalid"})


def test_a_signature_for_another_service_is_refused(cloud):
    headers = signature(cloud.outputs["ApiUrl"], BODY)
    headers["Authorization"] = headers["Authorization"].replace("/execute-api/", "/sqs/")
    response = raw_post(cloud, headers)
    assert (response.status_code, response.json()) == (
        403, {"message": "Credential should be scoped to correct service: 'execute-api'. "})


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 " + "A" * 12_000,
    "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/execute-api/aws4_request",
    "AWS4-HMAC-SHA256 Credential=local, SignedHeaders=host, Signature=" + "0" * 64,
    "Basic dXNlcjpwYXNz",
    "\u00ff\u00fe\u0001binary",
    "",
], ids=["huge", "no signature", "credential without scope", "another scheme", "binary", "empty"])
def test_hostile_authorization_headers_get_a_403_never_a_5xx(cloud, authorization):
    rides = cloud.clients.client("dynamodb").scan(TableName=cloud.outputs["RidesTableName"], Select="COUNT")["Count"]
    response = httpx.post(cloud.outputs["ApiUrl"], content=BODY, timeout=30,
                          headers=[(b"Authorization", authorization.encode("latin-1"))])
    assert response.status_code == 403, response.text
    message = response.json()["message"]
    assert message == "Missing Authentication Token" if not authorization else message.startswith(
        ("Authorization header requires", "Credential should be scoped"))
    after = cloud.clients.client("dynamodb").scan(TableName=cloud.outputs["RidesTableName"], Select="COUNT")["Count"]
    assert after == rides

