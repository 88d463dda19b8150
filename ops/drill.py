"""Game days: break one thing on purpose, prove the alarms fire and reach people, put it back, lose nothing.

One runner, the same seven steps for every scenario (ops/drill_scenarios.py says what each breaks; what a
drill is made of and reports is in ops/drill_model.py):

1. steady state: no stack alarm in ALARM, every DLQ empty, every queue drained (a drill on a sick stack
   proves nothing, and its rollback could not tell its own mess from what was there);
2. the injection (and the scenario's traffic);
3. the expected alarms reach ALARM, each timed from the injection (CloudWatch's StateUpdatedTimestamp);
4. their notifications arrive on a temporary queue subscribed to the alarm topic (ops/alarm_listener.py);
5. the rollback, always: after an error, a timeout, an unexpected alarm or Ctrl-C too (try/finally; a
   second Ctrl-C waits until the rollback is done);
6. the alarms that fired are back to OK;
7. the rides the drill sent are reconciled (ops/reconcile.py): none lost, none left in a DLQ.

Any stack alarm outside the scenario's expected and tolerated ones that reaches ALARM stops the drill
(and rolls back): the drill is then breaking something it did not mean to. Waits are budgeted from the
alarms' own periods on the cloud's clock (`Target.time_scale`: the local cloud's TIME_SCALE, 1 on AWS).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ops.alarm_listener import AlarmListener
from ops.drill_model import Drill, DrillAborted, DrillResult, FiredAlarm, Step, resolve
from ops.errors import OpsError
from ops.reconcile import reconcile
from ops.services import Service
from ops.watch import dead_letters, queue_depth, stack_alarms

PUBLISHING_DELAY_SECONDS = 240  # AWS: metrics land 1-3 min late and alarms evaluate on the minute
RECONCILE_SECONDS = 60.0  # cloud seconds for the last rides to land in their tables


@dataclass
class Options:
    timeout: float | None = None  # real seconds for each wait; None: from the alarms' periods
    interval: float | None = None  # seconds between polls; None: 0.25 locally, 10 on AWS


def confirm(yes: bool, is_tty: bool, ask: Callable[[], bool]) -> None:
    """A drill breaks a stack on purpose: ask, unless --yes; refuse when nobody can be asked."""
    if yes:
        return
    if not is_tty:
        raise OpsError("a drill changes the stack on purpose and asks first: no terminal to ask on, pass --yes")
    if not ask():
        raise OpsError("not confirmed: nothing was changed")


@contextmanager
def deferred_interrupts() -> Iterator[list[int]]:
    """Ctrl-C during the rollback is remembered, not raised: a half-done rollback is worse than a slow one."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)


class Runner:
    def __init__(self, target: Any, scenario: Any, service: Service | None, options: Options | None = None, *,
                 on_step: Callable[[Step], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.target, self.scenario, self.options = target, scenario, options or Options()
        self.drill = Drill(target, service)
        self.on_step, self.sleep, self.clock = on_step, sleep, clock
        self.result = DrillResult(scenario=scenario.name, service=service.name if service else None,
                                  target=target.kind, stack=target.stack_name, time_scale=self.drill.scale)
        self.cloudwatch = target.client("cloudwatch")
        self.started = self.injected = self.rolled_back = 0.0
        self.expected: dict[str, dict[str, Any]] = {}  # name -> alarm
        self.tolerated: set[str] = set()
        self.fired: dict[str, FiredAlarm] = {}
        self.listener: AlarmListener | None = None

    @property
    def interval(self) -> float:
        if self.options.interval is not None:
            return self.options.interval
        return 0.25 if self.target.kind == "local" else 10.0

    # -- the seven steps ---------------------------------------------------------------------------
    def run(self) -> DrillResult:
        self.started = self.clock()
        injected = False
        try:
            self._prepare()
            self.steady_state()
            self.listener = AlarmListener(self.target, self.drill.run_id).open()
            self.step("listening on the alarm topic", True, self.listener.name)
            try:
                injected = True
                self.injected = self.clock()
                self.step("injected", True, self.scenario.inject(self.drill))
                self.wait_for_alarms()
                self.wait_for_notifications()
            except BaseException:
                self.drill.aborting = True  # the rollback does not wait long for what may never come
                raise
            finally:
                self.rollback()
            self.scenario.recover(self.drill)
            self.wait_for_recovery()
            self.reconcile()
            self.result.passed = True
        except KeyboardInterrupt:
            self.result.interrupted, self.result.reason = True, "interrupted (Ctrl-C)" + (
                ": rolled back" if injected else "")
            self.step("interrupted", False, self.result.reason)
        except (DrillAborted, OpsError) as error:
            self.result.reason = str(error)
            self.step("stopped", False, str(error))
        finally:
            self._close_listener()
            self.result.alarms_fired = list(self.fired.values())
            self.result.rides_sent = len(self.drill.rides)
            self.result.details = self.drill.details
            self.result.elapsed_seconds = round(self.clock() - self.started, 1)
        return self.result

    def _prepare(self) -> None:
        alarms = self._alarms()
        self.expected = {a["AlarmName"]: a for a in (resolve(alarms, s) for s in self.scenario.expected(self.drill))}
        self.tolerated = {resolve(alarms, s)["AlarmName"] for s in self.scenario.tolerated(self.drill)}
        self.result.expected_alarms = sorted(self.expected)

    def steady_state(self) -> None:
        """1. Nothing in ALARM, DLQs empty, queues drained: else there is nothing to compare against."""
        alarms = self._alarms()
        problems = [f"{a['AlarmName']} is in ALARM" for a in alarms if a.get("StateValue") == "ALARM"]
        sqs = self.target.client("sqs")
        for service in self.target.services:
            for kind, url in service.dead_letter_queues:
                if count := dead_letters(sqs, url):
                    problems.append(f"{service.name} {kind} DLQ holds {count}")
            visible, in_flight, delayed = queue_depth(sqs, service.queue_url)
            if visible + in_flight + delayed:
                problems.append(f"{service.name} queue holds {visible + in_flight + delayed}")
        if problems:
            self.step("steady state", False, "; ".join(problems))
            raise DrillAborted("not in a steady state: " + "; ".join(problems) + " (see `wildrydes watch`)")
        self.step("steady state", True, f"{len(alarms)} alarms, none in ALARM; DLQs empty; queues drained")

    def wait_for_alarms(self) -> None:
        """3. Every expected alarm reaches ALARM within the budget; any other alarm stops the drill."""
        ages = [a.get("Threshold", 0) for a in self.expected.values()
                if a.get("MetricName") == "ApproximateAgeOfOldestMessage"]  # a message must get that old first
        budget = self._budget(self.scenario.lead_seconds(self.drill) + max(ages, default=0))
        self._poll(lambda states: all(name in self.fired for name in self.expected), budget,
                   "the expected alarms", tick=True)

    def wait_for_notifications(self) -> None:
        """4. Each expected alarm's ALARM notification is on the listening queue."""
        def heard() -> set[str]:
            assert self.listener is not None
            return {n.alarm for n in self.listener.received if n.state == "ALARM"}

        self._poll(lambda states: set(self.expected) <= heard(), self.drill.real(PUBLISHING_DELAY_SECONDS),
                   "the ALARM notifications")
        self.step("notified", True, f"{len(self.expected)} ALARM notifications on the alarm topic")

    def rollback(self) -> None:
        """5. Always, once something may have changed; a second Ctrl-C waits for it."""
        with deferred_interrupts() as caught:
            try:
                detail = self.scenario.rollback(self.drill)
            except Exception as error:
                self.step("rolled back", False, f"rollback failed: {error}: put it back by hand (README `drill`)")
                raise
            self.rolled_back = self.clock()
            self.step("rolled back", True, detail + (" (Ctrl-C during the rollback waited)" if caught else ""))

    def wait_for_recovery(self) -> None:
        """6. What fired is back to OK (its OK notification is collected on the way)."""
        self._poll(lambda states: all(states.get(n) == "OK" for n in self.fired), self._budget(0),
                   "the alarms to return to OK")

    def reconcile(self) -> None:
        """7. Every ride the drill had accepted is processed (none lost, none left in a DLQ)."""
        deadline = self.clock() + self.drill.real(RECONCILE_SECONDS)
        while True:
            outcome = reconcile(self.target, self.drill.rides)
            lost, in_dlq = sum(s.lost for s in outcome.services), sum(s.in_dlq for s in outcome.services)
            astray = sum(s.astray for s in outcome.services)
            if (lost == in_dlq == astray == 0) or self.clock() > deadline:
                break
            self.sleep(self.interval * 4)
        self.result.lost, self.result.in_dlq = lost, in_dlq
        detail = f"{len(self.drill.rides)} rides: {lost} lost, {in_dlq} in a DLQ, {astray} astray"
        self.step("reconciled", lost == in_dlq == astray == 0, detail)
        if lost or in_dlq or astray:
            raise DrillAborted(f"reconcile: {detail} (wildrydes reconcile, dlq list)")

    # -- the machinery -----------------------------------------------------------------------------
    def step(self, name: str, ok: bool, detail: str = "") -> None:
        step = Step(round(self.clock() - self.started, 1), name, ok, detail)
        self.result.steps.append(step)
        if self.on_step:
            self.on_step(step)

    def _alarms(self) -> list[dict[str, Any]]:
        return stack_alarms(self.cloudwatch, self.target.stack_name, self.target.outputs.get("AlarmTopicArn"))

    def _budget(self, lead_seconds: float) -> float:
        """Real seconds to wait: the scenario's lead, the longest alarm window, CloudWatch's delays."""
        if self.options.timeout is not None:
            return self.options.timeout
        window = max((a.get("Period", 60) * a.get("EvaluationPeriods", 1) for a in self.expected.values()),
                     default=60)
        return self.drill.real(lead_seconds + window + PUBLISHING_DELAY_SECONDS)

    def _poll(self, done: Callable[[dict[str, str]], bool], budget: float, what: str, *, tick: bool = False) -> None:
        deadline = self.clock() + budget
        while True:
            states = self._observe()
            if tick:
                self.scenario.tick(self.drill)
            if done(states):
                return
            if self.clock() > deadline:
                missing = [n for n in self.expected if n not in self.fired]
                raise DrillAborted(f"timed out after {budget:.0f} s waiting for {what}"
                                   + (f" ({', '.join(missing)} not in ALARM)" if missing and tick else ""))
            self.sleep(self.interval)

    def _observe(self) -> dict[str, str]:
        """Every stack alarm's state; records first ALARM / OK times and stops on an unexpected alarm."""
        if self.listener:
            for notification in self.listener.read():
                self.result.notifications.append(notification.row(self.injected))
        alarms = self._alarms()
        states = {a["AlarmName"]: str(a.get("StateValue")) for a in alarms}
        for alarm in alarms:
            name, state = alarm["AlarmName"], alarm.get("StateValue")
            changed = alarm["StateUpdatedTimestamp"].timestamp()
            if state == "ALARM" and name not in self.fired:
                if name not in self.expected and name not in self.tolerated:
                    raise DrillAborted(f"{name} went to ALARM, which this drill does not expect: stopped and "
                                       "rolled back")
                self.fired[name] = FiredAlarm(name, f"{alarm.get('Namespace')} {alarm.get('MetricName')}",
                                              expected=name in self.expected,
                                              seconds_to_alarm=round(max(0.0, changed - self.injected), 1))
                self.step(f"ALARM {name}", True, self._took(self.fired[name].seconds_to_alarm))
            elif state == "OK" and name in self.fired and self.rolled_back and self.fired[name].seconds_to_ok is None:
                self.fired[name].seconds_to_ok = round(max(0.0, changed - self.rolled_back), 1)
                self.step(f"OK {name}", True, self._took(self.fired[name].seconds_to_ok) + " after the rollback")
        return states

    def _took(self, seconds: float | None) -> str:
        text = f"after {seconds:g} s"
        if seconds and self.drill.scale != 1 and seconds / self.drill.scale >= 60:
            text += f" (~{seconds / self.drill.scale / 60:.0f} min on the cloud's clock)"
        return text

    def _close_listener(self) -> None:
        if self.listener is None:
            return
        try:
            for notification in self.listener.read():
                self.result.notifications.append(notification.row(self.injected))
        except Exception:
            pass
        self.listener.close()
