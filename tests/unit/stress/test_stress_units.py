"""Units of qhub.stress: histograms, pacing, plans, budgets, the host guard, renderers."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import pytest

from qhub.config import StressSettings, load_config
from qhub.exceptions import ConfigError, StressError, StressTargetError
from qhub.stress.budgets import check_budgets
from qhub.stress.guard import HostGuard, parse_host
from qhub.stress.histogram import LatencyHistogram
from qhub.stress.measure import Measurements, error_kind
from qhub.stress.pacing import Pacer
from qhub.stress.plan import resolve_plan
from qhub.stress.render import renderer
from tests.unit.stress.conftest import frozen_result


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


class TestLatencyHistogram:
    """HDR histogram wrapper: percentiles within 0.1 % of the exact nearest rank."""

    def test_percentiles_match_exact_nearest_rank(self) -> None:
        rng = random.Random(7)
        values = [rng.lognormvariate(2.5, 1.0) for _ in range(20_000)]
        hist = LatencyHistogram()
        for v in values:
            hist.record(v)
        assert hist.count == len(values)
        for q in (50, 90, 95, 99, 99.9):
            exact = nearest_rank(values, q)
            assert exact * 0.999 - 0.001 <= hist.percentile(q) <= exact * 1.001 + 0.001
        assert hist.max() == pytest.approx(max(values), rel=1e-3, abs=1e-3)

    def test_merge_is_exact_and_never_an_average(self) -> None:
        fast, slow = LatencyHistogram(), LatencyHistogram()
        for _ in range(90):
            fast.record(5.0)
        for _ in range(10):
            slow.record(100.0)
        merged = fast.copy()
        merged.merge(slow)
        assert merged.count == 100
        assert merged.percentile(50) == pytest.approx(5.0, rel=1e-3)
        assert merged.percentile(95) == pytest.approx(100.0, rel=1e-3)  # not (5+100)/2
        assert fast.count == 90  # the copy was merged, not the original

    def test_encode_round_trip_and_garbage(self) -> None:
        hist = LatencyHistogram()
        for v in (1.0, 2.0, 3.0, 2500.0):
            hist.record(v)
        back = LatencyHistogram.decode(hist.encode())
        assert back.count == 4 and back.max() == pytest.approx(2500.0, rel=1e-3)
        with pytest.raises(ValueError, match="not an encoded latency histogram"):
            LatencyHistogram.decode("definitely not base64 hdr")

    def test_out_of_range_values_are_kept(self) -> None:
        hist = LatencyHistogram()
        hist.record(-1.0)
        hist.record(10 * 3_600_000.0)
        assert hist.count == 2 and hist.clamped == 1
        assert hist.max() == pytest.approx(3_600_000.0, rel=1e-3)


class TestHostileStoredHistograms:
    """A stored histogram is untrusted: what qhub could not have written is refused before
    hdrh allocates anything for it (a damaged one is a miss, never a memory blow-up)."""

    @staticmethod
    def _parts() -> tuple[bytes, bytes]:
        import base64
        import zlib

        from hdrh.codec import ext_header_size

        h = LatencyHistogram()
        for ms in (1.0, 2.0, 3.0):
            h.record(ms)
        raw = base64.b64decode(h.encode())
        return raw[:ext_header_size], zlib.decompress(raw[ext_header_size:])

    @staticmethod
    def _encode(ext: bytes, payload: bytes) -> str:
        import base64
        import zlib

        from hdrh.codec import ExternalHeader

        compressed = zlib.compress(payload, 9)
        header = ExternalHeader.from_buffer_copy(ext)
        header.length = len(compressed)
        return base64.b64encode(bytes(header) + compressed).decode()

    def test_a_zlib_bomb_is_refused_without_inflating_it(self) -> None:
        import tracemalloc

        ext, payload = self._parts()
        bomb = self._encode(ext, payload + b"\0" * (64 << 20))  # ~65 kB of text, 64 MB inflated
        assert len(bomb) < 200_000
        tracemalloc.start()
        try:
            with pytest.raises(ValueError, match="inflates past"):
                LatencyHistogram.decode(bomb)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 << 20, f"{peak:,} bytes allocated to refuse it"

    @pytest.mark.parametrize(
        ("field", "value"),
        [("significant_figures", 5), ("highest_trackable_value", 2**62),
         ("lowest_trackable_value", 1000), ("significant_figures", 0)],
    )  # fmt: skip
    def test_settings_qhub_never_writes_are_refused(self, field: str, value: int) -> None:
        from hdrh.codec import PayloadHeader

        ext, payload = self._parts()
        header = PayloadHeader.from_buffer_copy(payload)
        setattr(header, field, value)
        text = self._encode(ext, bytes(header) + payload[len(bytes(header)) :])
        with pytest.raises(ValueError, match="settings qhub does not write"):
            LatencyHistogram.decode(text)

    def test_oversized_and_malformed_texts_are_refused(self) -> None:
        from qhub.stress.histogram import MAX_ENCODED_CHARS

        with pytest.raises(ValueError, match="characters, over"):
            LatencyHistogram.decode("A" * (MAX_ENCODED_CHARS + 4))
        for text in ("", "not base64 at all!", "AAAA", "\u00e9t\u00e9"):
            with pytest.raises(ValueError):
                LatencyHistogram.decode(text)

    def test_what_qhub_writes_still_decodes(self) -> None:
        for digits in (2, 3):
            h = LatencyHistogram(digits)
            for ms in (0.5, 12.0, 3_600_001.0):
                h.record(ms)
            back = LatencyHistogram.decode(h.encode())
            assert back.count == 3 and back.percentile(50) == h.percentile(50)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


class TestPacer:
    """Closed model per-user counts; open model schedule and lag."""

    def test_closed_model_gives_each_user_its_iterations(self) -> None:
        clock = _Clock()
        pacer = Pacer(
            users=2,
            iterations=3,
            duration_s=None,
            rate=None,
            ramp_up_s=4,
            clock=clock,
            wait=clock.wait,
        )
        pacer.start(clock())
        assert [pacer.next(0) is not None for _ in range(4)] == [True, True, True, False]
        assert pacer.next(1) is not None
        assert pacer.user_start_delay(1) == 2.0
        slot = pacer.next(1)
        assert slot is not None and slot.lag_ms is None

    def test_closed_model_stops_at_the_deadline(self) -> None:
        clock = _Clock()
        pacer = Pacer(
            users=1,
            iterations=None,
            duration_s=5,
            rate=None,
            ramp_up_s=0,
            clock=clock,
            wait=clock.wait,
        )
        pacer.start(clock())
        assert pacer.next(0) is not None
        clock.now += 5
        assert pacer.next(0) is None

    def test_open_model_waits_for_the_due_time_and_measures_lag(self) -> None:
        clock = _Clock()
        pacer = Pacer(
            users=1,
            iterations=None,
            duration_s=1.0,
            rate=10,
            ramp_up_s=0,
            clock=clock,
            wait=clock.wait,
        )
        pacer.start(clock())
        first = pacer.next(0)
        assert first is not None and first.lag_ms == 0.0
        second = pacer.next(0)
        assert second is not None and clock.waits == [pytest.approx(0.1)]
        clock.now += 0.35  # the user was busy: the next two are late
        third = pacer.next(0)
        assert third is not None and third.lag_ms == pytest.approx(250.0)
        handed = 3
        while pacer.next(0) is not None:
            handed += 1
        assert handed == 10  # 10/s for 1 s
        assert pacer.scheduled(clock()) == 10

    def test_open_model_ramp_is_linear_in_rate(self) -> None:
        pacer = Pacer(
            users=1,
            iterations=None,
            duration_s=None,
            rate=10,
            ramp_up_s=2,
            clock=_Clock(),
            wait=lambda s: False,
        )
        # 10/s after a 2 s ramp: 10 due in the ramp (rate*T/2), then one per 0.1 s
        assert pacer.due_time(0) == 0.0
        assert pacer.due_time(10) == pytest.approx(2.0)
        assert pacer.due_time(11) == pytest.approx(2.1)
        times = [pacer.due_time(i) for i in range(30)]
        assert times == sorted(times)

    def test_open_model_iterations_are_users_times_n(self) -> None:
        clock = _Clock()
        pacer = Pacer(
            users=3,
            iterations=2,
            duration_s=None,
            rate=1000,
            ramp_up_s=0,
            clock=clock,
            wait=clock.wait,
        )
        pacer.start(clock())
        count = 0
        while pacer.next(count % 3) is not None:
            count += 1
        assert count == 6


class TestPlan:
    """Command line over settings; the multiplier scales users (and rate) or iterations."""

    def test_defaults_are_bounded(self) -> None:
        plan = resolve_plan(StressSettings(), {})
        assert plan.users == 1 and plan.duration_s == 60.0 and plan.iterations is None

    def test_multiplier_scales_users_and_rate(self) -> None:
        plan = resolve_plan(StressSettings(multiplier=2.5), {"users": 3, "rate": 10.0})
        assert (plan.users, plan.rate, plan.base_users) == (8, 25.0, 3)

    def test_multiplier_on_iterations(self) -> None:
        plan = resolve_plan(
            StressSettings(),
            {"users": 2, "iterations": 3, "multiplier": 2.0, "scale": "iterations"},
        )
        assert (plan.users, plan.iterations) == (2, 6)

    def test_too_many_users_after_the_multiplier(self) -> None:
        with pytest.raises(StressError, match="above the limit"):
            resolve_plan(StressSettings(multiplier=1000), {"users": 100})

    def test_stress_multiplier_variable_is_validated(self) -> None:
        assert load_config(environ={"STRESS_MULTIPLIER": "5"}).stress.multiplier == 5.0
        with pytest.raises(ConfigError, match=r"stress\.multiplier"):
            load_config(environ={"QHUB_STRESS_MULTIPLIER": "0"})


class TestHostGuard:
    """Only configured hosts; names compared as written."""

    def test_parse_host(self) -> None:
        assert parse_host("https://API.example.com/v1") == ("api.example.com", 443)
        assert parse_host("http://127.0.0.1:8080") == ("127.0.0.1", 8080)
        assert parse_host("auth.example.com") == ("auth.example.com", None)
        assert parse_host("[::1]:9000") == ("::1", 9000)
        with pytest.raises(StressError):
            parse_host("http://host:notaport")

    def test_allows_and_refuses(self) -> None:
        guard = HostGuard(["http://127.0.0.1:8080"], ["auth.example.com"])
        assert guard.allows("127.0.0.1", 8080)
        assert not guard.allows("127.0.0.1", 8081)
        assert not guard.allows("localhost", 8080)
        assert guard.allows("AUTH.example.com", 443, "https")
        with pytest.raises(StressTargetError, match="not a configured API host"):
            guard.check("example.org", 80)
        assert guard.refused == 1

    def test_active_guard_refuses_before_connecting(self) -> None:
        import urllib3

        guard = HostGuard(["http://127.0.0.1:1"])
        with guard.active(), pytest.raises(StressTargetError):
            urllib3.PoolManager().request("GET", "http://127.0.0.2:9/", retries=False)
        import http.client

        with guard.active(), pytest.raises(StressTargetError):
            http.client.HTTPConnection("127.0.0.3", 9, timeout=1).connect()


class TestMeasurementsAndBudgets:
    """Error kinds, budgets (failing on no data), renderers over a frozen result."""

    def test_error_kinds(self) -> None:
        assert error_kind(200, None) is None
        assert error_kind(404, None) is None
        assert error_kind(503, None) == "HTTP 503"
        assert error_kind(None, TimeoutError("x")) == "TimeoutError"
        assert error_kind(None, StressTargetError("x")) == "refused host"

    def _result(self, settings: StressSettings) -> Any:
        m = Measurements(corrected=False)
        for i in range(100):
            m.request("GET /pets/{id}", 10.0 + i, 0.0, 200, None)
            m.request("POST /pets/{id}", 300.0, 0.0, 503 if i < 5 else 201, None)
        m.scenario("f:1", "s", duration_ms=5, lag_ms=0, status="passed", kind=None, error="")
        m.scenario(
            "f:1",
            "s",
            duration_ms=5,
            lag_ms=0,
            status="failed",
            kind="AssertionError",
            error="boom",
        )
        m.tick(1.0)
        result = frozen_result(m, elapsed_s=2.0, cpu_percent=12.0, users_started=2)
        return result.with_budgets(check_budgets(result, settings))

    def test_budgets(self) -> None:
        settings = replace(
            StressSettings(),
            budget_p95_ms=150.0,
            budget_endpoints_ms={
                "p50 GET /pets/{id}": 100.0,
                "p95 /pets/{id}": 400.0,
                "p99 /nothing": 1.0,
            },
            budget_min_rps=20.0,
            budget_error_rate_percent=1.0,
            budget_failed_scenarios_percent=50.0,
        )
        result = self._result(settings)
        verdict = {b.name: (b.passed, b.actual) for b in result.budgets}
        assert verdict["p95 of all requests"][0] is False  # 300 ms: half the requests
        assert verdict["p50 of GET /pets/{id}"] == (True, pytest.approx(59.0, rel=2e-3))
        assert verdict["p95 of /pets/{id}"][0] is True  # GET and POST merged: 300 ms
        assert verdict["p99 of /nothing"] == (False, None)
        assert verdict["completed requests per second"] == (True, 100.0)
        assert verdict["failed requests"] == (False, 2.5)
        assert verdict["failed scenarios"] == (True, 50.0)

    def test_renderers(self) -> None:
        result = self._result(replace(StressSettings(), budget_p95_ms=150.0))
        text = renderer("text")(result)
        assert "GET /pets/{id}" in text and "FAIL p95 of all requests" in text
        assert "HTTP 503 x5 in request POST /pets/{id}" in text
        prom = renderer("prometheus")(result)
        assert (
            'qhub_stress_request_duration_seconds{endpoint="GET /pets/{id}",quantile="0.5"}' in prom
        )
        assert (
            'qhub_stress_request_errors_total{endpoint="POST /pets/{id}",kind="HTTP 503"} 5' in prom
        )
        for line in prom.splitlines():
            assert line.startswith("#") or len(line.rsplit(" ", 1)) == 2
        import json

        data = json.loads(renderer("json")(result))
        assert data["kind"] == "stress" and data["requests"]["count"] == 200
        assert LatencyHistogram.decode(data["histograms"]["all"]).count == 200
        with pytest.raises(ValueError, match="unknown stress report format"):
            renderer("xml")


class TestCommandLine:
    """Options are range-checked before anything runs."""

    @pytest.mark.parametrize(
        "args",
        [
            ["--users", "0"],
            ["--users", "1.5"],
            ["--duration", "-1"],
            ["--rate", "nan"],
            ["--multiplier", "0"],
            ["--scale", "both"],
        ],
    )
    def test_bad_options_exit_2(self, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        from qhub.cli import main

        assert main(["stress", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("qhub: error:") and len(err.strip().splitlines()) == 1


class TestCompare:
    """Same load only; threshold, noise floor and significance all required."""

    @staticmethod
    def _report(values: dict[str, list[float]], users: int = 2) -> dict[str, Any]:
        hists = {}
        everything = LatencyHistogram()
        for key, samples in values.items():
            hist = LatencyHistogram()
            for v in samples:
                hist.record(v)
                everything.record(v)
            hists[key] = hist.encode()
        hists["all"] = everything.encode()
        plan = {
            "users": users,
            "rate": None,
            "iterations": 10,
            "duration_s": None,
            "ramp_up_s": 0.0,
        }
        return {"run_id": "r1", "plan": plan, "histograms": hists}

    def test_slower_faster_unchanged(self) -> None:
        from qhub.stress.compare import compare_runs

        rng = random.Random(3)
        base = self._report(
            {
                "GET /a": [rng.gauss(20, 1) for _ in range(300)],
                "GET /b": [rng.gauss(20, 1) for _ in range(300)],
                "GET /c": [rng.gauss(50, 1) for _ in range(300)],
                "GET /few": [10.0] * 5,
            }
        )
        cur = self._report(
            {
                "GET /a": [rng.gauss(30, 1) for _ in range(300)],
                "GET /b": [rng.gauss(20.5, 1) for _ in range(300)],
                "GET /c": [rng.gauss(25, 1) for _ in range(300)],
                "GET /few": [100.0] * 5,
            }
        )
        result = compare_runs(base, cur, threshold_percent=20, noise_floor_ms=2)
        assert result.comparable
        assert [c.endpoint for c in result.regressions] == ["GET /a"]
        assert [c.endpoint for c in result.improvements] == ["GET /c"]
        assert result.regressions[0].p_value < 0.01
        assert result.too_few_samples == ["GET /few"]
        assert result.unchanged == 2  # GET /b and all requests (mixed: a up, c down)

    def test_noise_floor_and_different_loads(self) -> None:
        from qhub.stress.compare import compare_runs

        base = self._report({"GET /a": [1.0] * 100})
        cur = self._report({"GET /a": [1.5] * 100})
        floor = compare_runs(base, cur, threshold_percent=20, noise_floor_ms=2)
        assert floor.regressions == []  # +50 % but only 0.5 ms
        other = compare_runs(
            base,
            self._report({"GET /a": [9.0] * 100}, users=4),
            threshold_percent=20,
            noise_floor_ms=0,
        )
        assert not other.comparable and "users 2 -> 4" in other.reason

    def test_damaged_stored_histograms_are_misses(self) -> None:
        from qhub.stress.compare import compare_runs

        base = self._report({"GET /a": [1.0] * 100})
        base["histograms"]["GET /a"] = "garbage"
        result = compare_runs(
            base, self._report({"GET /a": [9.0] * 100}), threshold_percent=20, noise_floor_ms=0
        )
        assert [c.endpoint for c in result.regressions] == ["all requests"]


class TestHtml:
    """The HTML page escapes everything from the run and draws what happened."""

    def test_escaped_and_complete(self) -> None:
        from html.parser import HTMLParser

        m = Measurements(corrected=False)
        m.request("GET /<script>alert(1)</script>", 12.0, 0.0, 503, None)
        m.request("GET /ok", 5.0, 0.0, 200, None)
        m.scenario(
            "f:1",
            "<b>evil</b>",
            duration_ms=5,
            lag_ms=0,
            status="failed",
            kind="AssertionError",
            error="<img src=x onerror=alert(1)>",
        )
        m.tick(1.0)
        result = frozen_result(m, stop_reason="duration")
        page = renderer("html")(result)
        assert "<script>" not in page and "<img" not in page and "<b>evil" not in page
        assert "&lt;script&gt;" in page
        assert "<polyline" in page and "<rect" in page  # latency line and an error bar

        class Tags(HTMLParser):
            def __init__(self) -> None:
                super().__init__()
                self.tags: list[str] = []

            def handle_starttag(self, tag: str, attrs: Any) -> None:
                self.tags.append(tag)

        parser = Tags()
        parser.feed(page)
        assert "script" not in parser.tags and parser.tags.count("table") == 3
