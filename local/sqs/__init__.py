"""SQS, beyond what moto does: the queue access and AWS/SQS metrics Lambda's pollers and CloudWatch need
(`queues.py`), and message move tasks, SQS's own DLQ redrive (`move_tasks.py`).

AWS documents these in the SQS developer guide: "Available CloudWatch metrics for Amazon SQS" and
"Learn how to configure a dead-letter queue redrive".
"""
