"""What evaluating the template's alarms costs: evaluations/s of local/cloudwatch/alarm_evaluation.py.

    python -m bench.alarm_evaluation [--evaluations 10000] [--repeats 5] [--cdk-out cdk.out]

Every AWS::CloudWatch::Alarm of the synthesized template is evaluated over an hour of per-minute data
of its metric (60 datums; the p99 latency alarm gets 20 requests a minute as Values/Counts), each alarm
in turn with the state its last evaluation left, `evaluations` evaluations in all, a minute further on
every round. The local cloud evaluates about 25 alarms every few seconds. The median over the repeats
goes to bench/results/alarm_evaluation.json and is printed as evaluations/s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.record import write_result
from cloud_assembly import load_assembly
from local.cloudwatch.alarm_definition import NEW_ALARM, AlarmDefinition, AlarmState
from local.cloudwatch.alarm_evaluation import evaluate
from local.cloudwatch.statistics import Datum

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "alarm_evaluation.json"
START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def resolved(value: Any) -> Any:
    """A dimension value from the template: a Ref or Fn::GetAtt becomes the logical id it names."""
    if isinstance(value, dict):
        target = value.get("Ref") or value.get("Fn::GetAtt", ["?"])[0]
        return str(target)
    return value


def template_alarms(cdk_out: Path) -> list[AlarmDefinition]:
    stack = load_assembly(cdk_out).stack
    alarms = []
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = dict(resource["Properties"])
        properties["Dimensions"] = [{"Name": d["Name"], "Value": resolved(d["Value"])}
                                    for d in properties.get("Dimensions", [])]
        alarms.append(AlarmDefinition.from_properties(properties, name=logical_id))
    return alarms


def an_hour_of_data(alarm: AlarmDefinition, rng: random.Random) -> list[Datum]:
    """Per-minute datums around the threshold: about a third of the minutes breach."""
    datums = []
    for minute in range(60):
        at = START + timedelta(minutes=minute, seconds=rng.randint(0, 59))
        spread = alarm.threshold * 0.5 + 1
        if alarm.extended_statistic:
            values = [max(0.0, rng.gauss(alarm.threshold, spread)) for _ in range(20)]
            datums.append(Datum.values(at, values, unit="Milliseconds"))
        else:
            datums.append(Datum.value(at, max(0.0, rng.gauss(alarm.threshold - spread / 2, spread))))
    return datums


def run(alarms: list[AlarmDefinition], data: list[list[Datum]], evaluations: int) -> tuple[float, dict[str, int]]:
    """Seconds for `evaluations` evaluations, and how many ended in each state."""
    states: list[AlarmState] = [NEW_ALARM] * len(alarms)
    counts: dict[str, int] = {}
    started = time.perf_counter()
    for number in range(evaluations):
        index = number % len(alarms)
        now = START + timedelta(minutes=30 + number // len(alarms) % 30, seconds=7)
        result = evaluate(alarms[index], data[index], now, states[index])
        states[index] = result.as_state
        counts[result.state] = counts.get(result.state, 0) + 1
    return time.perf_counter() - started, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    args = parser.parse_args(argv)
    alarms = template_alarms(args.cdk_out)
    rng = random.Random(7)
    data = [an_hour_of_data(alarm, rng) for alarm in alarms]
    runs = [run(alarms, data, args.evaluations) for _ in range(args.repeats)]
    seconds = statistics.median(elapsed for elapsed, _ in runs)
    rate = args.evaluations / seconds
    write_result(RESULTS, "alarm evaluations/s over an hour of per-minute data", "make bench", {
        "alarms": len(alarms), "evaluations": args.evaluations, "repeats": args.repeats,
        "median_seconds": round(seconds, 3), "evaluations_per_second": round(rate),
        "microseconds_per_evaluation": round(seconds / args.evaluations * 1e6, 1), "states": runs[0][1]})
    print(f"{len(alarms)} template alarms, {args.evaluations} evaluations over 60 datums each: "
          f"{rate:,.0f} evaluations/s ({seconds / args.evaluations * 1e6:.1f} µs each; median of {args.repeats})")
    print(f"states the evaluations of the first run gave: {runs[0][1]}")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
