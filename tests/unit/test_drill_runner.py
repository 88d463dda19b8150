"""The drill runner's promises, with a fake stack: the rollback always runs (error, Ctrl-C, timeout, an
alarm the scenario does not expect), nothing is changed on a stack that is not steady, and a drill asks first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ops import drill as drill_module
from ops.drill import Options, Runner, confirm
from ops.drill_model import AlarmSpec
from ops.drill_scenarios import Scenario
from ops.errors import OpsError


class FakeStack:
    """Alarms whose states the fake scenario sets; a clock that moves when the runner sleeps."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.alarms = {name: self.alarm(name, metric) for name, metric in
                       (("Stack-Depth", "ApproximateNumberOfMessagesVisible"), ("Stack-Errors", "Errors"))}
        self.calls: list[str] = []

    def alarm(self, name: str, metric: str) -> dict[str, Any]:
        return {"AlarmName": name, "Namespace": "AWS/SQS" if metric != "Errors" else "AWS/Lambda",
                "MetricName": metric, "Dimensions": [{"Name": "X", "Value": "q"}], "StateValue": "OK",
                "Period": 60, "EvaluationPeriods": 1, "StateUpdatedTimestamp": self.time()}

    def time(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now, dt.UTC)

    def set(self, name: str, state: str) -> None:
        self.alarms[name].update(StateValue=state, StateUpdatedTimestamp=self.time())

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.5)


class FakeListener:
    def __init__(self, stack: FakeStack) -> None:
        self.stack, self.received, self.name, self.closed = stack, [], "listener", False

    def open(self) -> FakeListener:
        return self

    def read(self) -> list[Any]:
        from ops.alarm_listener import Notification

        new = [Notification(a["AlarmName"], "ALARM", "OK", self.stack.now) for a in self.stack.alarms.values()
               if a["StateValue"] == "ALARM" and a["AlarmName"] not in {n.alarm for n in self.received}]
        self.received += new
        return new

    def close(self) -> None:
        self.closed = True
        self.stack.calls.append("listener closed")


class Target:
    kind, stack_name, outputs, services, time_scale = "local", "Stack", {"AlarmTopicArn": "topic"}, [], 1.0

    def client(self, name: str) -> Any:
        return None


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> FakeStack:
    fake = FakeStack()
    monkeypatch.setattr(drill_module, "stack_alarms", lambda *a: [dict(v) for v in fake.alarms.values()])
    monkeypatch.setattr(drill_module, "AlarmListener", lambda target, run_id: FakeListener(fake))
    monkeypatch.setattr(drill_module, "reconcile", lambda target, rides: type("R", (), {"services": []})())
    return fake


def scenario(stack: FakeStack, *, inject: Any = None, tick: Any = None) -> Scenario:
    def default_inject(drill: Any) -> str:
        stack.calls.append("inject")
        stack.set("Stack-Depth", "ALARM")
        return "broken"

    def rollback(drill: Any) -> str:
        stack.calls.append("rollback")
        stack.set("Stack-Depth", "OK")
        return "put back"

    return Scenario("fake", "breaks a fake", "~1", lambda d: [AlarmSpec("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                                                        "q")],
                    inject or default_inject, rollback, tick=tick or (lambda d: None), needs_service=False)


def run(stack: FakeStack, chosen: Scenario, timeout: float = 30.0) -> Any:
    return Runner(Target(), chosen, None, Options(timeout=timeout, interval=1.0), sleep=stack.sleep,
                  clock=lambda: stack.now).run()


def test_a_drill_that_works_passes_and_rolls_back_once(stack):
    result = run(stack, scenario(stack))
    assert result.passed and result.reason is None
    assert stack.calls == ["inject", "rollback", "listener closed"]
    [fired] = result.alarms_fired
    assert (fired.name, fired.expected, fired.seconds_to_alarm, fired.seconds_to_ok) == ("Stack-Depth", True, 0, 0)
    assert [n["alarm"] for n in result.notifications] == ["Stack-Depth"]


def failing(error: BaseException) -> Any:
    def inject(drill: Any) -> str:
        drill.target  # noqa: B018 - half an injection, then the failure
        raise error

    return inject


def test_an_error_in_the_injection_still_rolls_back(stack):
    with pytest.raises(RuntimeError):
        run(stack, scenario(stack, inject=failing(RuntimeError("boom"))))
    assert stack.calls == ["rollback", "listener closed"]


def test_ctrl_c_in_the_injection_rolls_back_and_says_so(stack):
    result = run(stack, scenario(stack, inject=failing(KeyboardInterrupt())))
    assert result.interrupted and not result.passed and "rolled back" in result.reason
    assert stack.calls == ["rollback", "listener closed"]


def test_ctrl_c_while_waiting_for_the_alarms_rolls_back(stack):
    def tick(drill: Any) -> None:
        raise KeyboardInterrupt

    result = run(stack, scenario(stack, tick=tick))
    assert result.interrupted and stack.calls == ["inject", "rollback", "listener closed"]


def test_an_alarm_the_scenario_does_not_expect_stops_it_and_rolls_back(stack):
    def inject(drill: Any) -> str:
        stack.calls.append("inject")
        stack.set("Stack-Errors", "ALARM")
        return "broke the wrong thing"

    result = run(stack, scenario(stack, inject=inject))
    assert not result.passed and "Stack-Errors went to ALARM, which this drill does not expect" in result.reason
    assert stack.calls == ["inject", "rollback", "listener closed"]


def test_alarms_that_never_fire_time_out_and_roll_back(stack):
    result = run(stack, scenario(stack, inject=lambda drill: "nothing happens"), timeout=5)
    assert not result.passed and result.reason.startswith("timed out after 5 s waiting for the expected alarms")
    assert stack.calls == ["rollback", "listener closed"]


def test_a_stack_in_alarm_is_not_touched(stack):
    stack.set("Stack-Errors", "ALARM")
    result = run(stack, scenario(stack))
    assert not result.passed and "Stack-Errors is in ALARM" in result.reason
    assert stack.calls == []


def test_confirmation():
    confirm(True, False, lambda: pytest.fail("--yes asks nothing"))
    with pytest.raises(OpsError, match="pass --yes"):
        confirm(False, False, lambda: True)
    with pytest.raises(OpsError, match="not confirmed"):
        confirm(False, True, lambda: False)
    confirm(False, True, lambda: True)
