"""Services come from the stack outputs, whatever their names."""

from __future__ import annotations

from ops.services import Service, discover_services


def test_services_are_the_prefixes_with_a_queue():
    outputs = {
        "ApiUrl": "https://x/prod/submit-ride-completion", "RidesTableName": "rides",
        "ZebraQueueUrl": "https://sqs/1/zq", "ZebraDlqUrl": "https://sqs/1/zd", "ZebraSubscriptionDlqUrl": "https://sqs/1/zs",
        "ZebraTableName": "zt", "ZebraFunctionName": "zf",
        "AlphaQueueUrl": "https://sqs/1/aq", "AlphaTableName": "at",
    }
    assert discover_services(outputs) == [
        Service("Alpha", queue_url="https://sqs/1/aq", table_name="at"),
        Service("Zebra", queue_url="https://sqs/1/zq", dlq_url="https://sqs/1/zd",
                subscription_dlq_url="https://sqs/1/zs", table_name="zt", function_name="zf"),
    ]
    assert discover_services(outputs)[1].dead_letter_queues == [("dlq", "https://sqs/1/zd"),
                                                                 ("subscription", "https://sqs/1/zs")]
