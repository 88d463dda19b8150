"""CloudWatch Logs, as the local cloud needs it beyond what moto stores: what Lambda and API Gateway write
into log groups, and the metrics CloudWatch Logs extracts from them.

moto stores log groups, streams and events, and answers FilterLogEvents; nothing writes to it on its own.
On AWS, Lambda ships each execution environment's output to its function's log group and API Gateway its
access log to the stage's, and CloudWatch Logs turns embedded metric format (EMF) events into metrics:
that is how the producer's `RidesLeftPending` becomes the metric its alarm reads. Here:

- `emf`: an EMF log event's metric data, or nothing when it is not valid EMF (as CloudWatch ignores it).
- `lambda_lines`: the log stream names and START/END/REPORT lines Lambda writes, text or JSON.
- `shipper`: buffers events in the process that makes them and hands them on in batches, from a
  background thread, so that an invocation never waits on logging.
- `ingest`: in the AWS process, puts batches into moto's logs backend and EMF metrics into its
  CloudWatch, in-process.
"""
