"""The ride profile's reading of py-spy's collapsed stacks (bench/ride_profile.py)."""

from __future__ import annotations

from pathlib import Path

from bench.ride_profile import aws_process_parts

BENCH = 'process 1:"python -m bench.local_cloud_load"'
AWS = 'process 3:"python -m local.aws_process {}"'
RAW = "\n".join([
    f'{BENCH};main (bench/x.py:1);send (ops/send.py:2) 50',  # the load client: not the AWS process
    f'{BENCH};{AWS};Thread.run (threading.py:1);QueuePoller._work (local/pollers.py:1);'
    f'DynamoHandler.put_item (moto/dynamodb/responses.py:1) 7',  # a poller's thread first, whatever it calls
    f'{BENCH};{AWS};WorkerThread.run (cheroot/workers/threadpool.py:1);Gate.__call__ (local/iam/gate.py:1);'
    f'Gate._authorize (local/iam/gate.py:2) 3',
    f'{BENCH};{AWS};WorkerThread.run (cheroot/workers/threadpool.py:1);Gate.__call__ (local/iam/gate.py:1);'
    f'DynamoHandler.update_item (moto/dynamodb/responses.py:1) 5',
    f'{BENCH};{AWS};WorkerThread.run (cheroot/workers/threadpool.py:1);SSLSocket.send (ssl.py:1) 4',
    f'{BENCH};{AWS};main (local/aws_process.py:1) 1',
])


def test_only_the_aws_process_counts_each_stack_in_the_first_part_it_matches(tmp_path: Path):
    raw = tmp_path / "profile.txt"
    raw.write_text(RAW + "\n")
    samples, parts = aws_process_parts(raw)
    assert samples == 20
    assert parts == {
        "event source mapping pollers (receive, invoke, delete)": 7,
        "DynamoDB (moto, parsing and serializing included)": 5,
        "HTTP server and TLS (cheroot)": 4,
        "IAM: signature check and policy decision": 3,
        "other (imports, start-up, threads not named above)": 1,
    }
