"""CloudWatch, as the local cloud needs it beyond what moto stores: the metrics AWS services publish on
their own, metric statistics, and alarm evaluation.

moto stores metric data and alarms but never evaluates an alarm. This package holds what CloudWatch
does in between, with no clock, no threads and no AWS client of its own (the caller injects the time
and the stored datapoints, and acts on the result):

- `statistics`: the datapoints PutMetricData accepts (a Value, Values with Counts, or a statistic
  set) and the statistics of a period (SampleCount, Average, Sum, Minimum, Maximum, pNN).
  CloudWatch User Guide: "CloudWatch statistics definitions", "Metrics concepts".
- `metric_data_errors`: the errors PutMetricData answers to hostile input, with CloudWatch's codes and
  messages. API reference: PutMetricData, MetricDatum.
- `alarm_definition`: an alarm as PutMetricAlarm defines it, checked as CloudWatch checks it, and
  the state an alarm is in. API reference: PutMetricAlarm.
- `alarm_evaluation`: one evaluation of a single-metric alarm at one moment (M out of N, the
  evaluation range, TreatMissingData, premature-transition avoidance, percentiles with low samples),
  the StateReason and StateReasonData CloudWatch writes, and the message it publishes to SNS.
  CloudWatch User Guide: "Using Amazon CloudWatch alarms".
- `formats`: how CloudWatch writes numbers, dates and Region names in those texts.
- `publisher`: publishing the metrics AWS services send on their own (AWS/Lambda, AWS/SQS, ...).
"""
