"""An alarm's SNS action, as CloudWatch runs it: a publish by `cloudwatch.amazonaws.com`, judged.

CloudWatch publishes its JSON notification to each topic of the new state's actions as the service
principal, with the alarm as `aws:SourceArn`. The topic's policy must allow it, and when the topic is
encrypted, its key's policy must let CloudWatch use the key (kms:GenerateDataKey*, kms:Decrypt):
otherwise the action fails, the alarm's history says so ("CloudWatch Alarms does not have authorization
to access the SNS topic encryption key"), and nobody is told (aws-cdk#11121). Here the same decisions go
through the enforcer; an allowed publish goes to moto's topic, whose SQS deliveries are judged in turn
(local/sns/delivery.py).
"""

from __future__ import annotations

from typing import Any

from moto.sns.models import sns_backends

from local.iam.enforcer import Enforcer

CLOUDWATCH = "cloudwatch.amazonaws.com"
KEY_REFUSED = "CloudWatch Alarms does not have authorization to access the SNS topic encryption key."


class ActionFailed(Exception):
    """The action could not be executed; the message is the error the alarm's history records."""


def publish_notification(enforcer: Enforcer, account: str, region: str, alarm_arn: str, topic_arn: str,
                         message: str, subject: str) -> None:
    """Publish `message` to `topic_arn` as CloudWatch would for `alarm_arn`, or raise ActionFailed."""
    if topic_arn.split(":")[2:3] != ["sns"]:
        raise ActionFailed(f"The local cloud runs SNS actions only; {topic_arn} is not a topic.")
    backend = sns_backends[topic_arn.split(":")[4] or account][topic_arn.split(":")[3] or region]
    topic = backend.topics.get(topic_arn)
    if topic is None:
        raise ActionFailed(f"Topic does not exist: {topic_arn}")  # SNS's NotFound, as CloudWatch quotes it
    decision = enforcer.service_may(CLOUDWATCH, "sns:Publish", topic_arn, source_arn=alarm_arn)
    if enforcer.refuses(decision):
        raise ActionFailed(decision.message())
    key_arn = enforcer.key_arn(_key_of(topic))
    if key_arn is not None:
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            if enforcer.refuses(enforcer.service_may(CLOUDWATCH, action, key_arn, source_arn=alarm_arn)):
                raise ActionFailed(KEY_REFUSED)
    topic.publish(message, subject=subject)


def _key_of(topic: Any) -> str | None:
    return getattr(topic, "kms_master_key_id", None) or None
