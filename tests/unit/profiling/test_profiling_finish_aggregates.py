"""finish() on a run of many repeated steps: every aggregate equals a brute-force computation.

The document aggregates per distinct step text (resolved, redacted and formatted once);
these tests recompute every figure per step occurrence, independently of qhub's code, and
compare the document, the stored history and the JSON report with it.
"""

from __future__ import annotations

import gc
import json
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from qhub.profiling.history import open_history
from qhub.profiling.record import to_json
from qhub.profiling.timings import percentile, percentile_sorted

MB = 1024 * 1024
KEYS = {
    "steps/x.py:10": "steps/x.py::given::I wait {n} ms",
    "steps/x.py:20": "steps/x.py::given::I log in with token=<redacted>",
    "steps/x.py:30": "steps/x.py::given::it is fine",
    "<undefined>": "<undefined>::given::(undefined step)",
}


def _pct(values: list[int], q: float) -> float:
    """Linear interpolation between closest ranks, written out independently."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * (q / 100.0)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ms(ns: float) -> float:
    return round(ns / 1_000_000, 3)


class _Status:
    """An enum-like status object (behave's ``Status`` members have a ``name``)."""

    def __init__(self, name: str) -> None:
        self.name = name


def _run(d: Any, fx: Any, steps: int) -> list[dict[str, Any]]:
    """Drive ``steps`` steps over a few texts and definitions; returns what each step was."""
    rng = random.Random(20260101)
    defs = {
        "steps/x.py:10": fx.definition("wait", 10, pattern="I wait {n} ms"),
        "steps/x.py:20": fx.definition("login", 20, pattern="I log in with token={t}"),
        "steps/x.py:30": fx.definition("check", 30, pattern="it is fine"),
    }
    texts = [
        ("steps/x.py:10", "When", "I wait 1 ms", "When I wait 1 ms"),
        ("steps/x.py:10", "When", "I wait 2 ms", "When I wait 2 ms"),
        (
            "steps/x.py:20",
            "Given",
            "I log in with token=abc",
            "Given I log in with token=<redacted>",
        ),
        ("steps/x.py:20", "And", "I log in with token=xyz", "And I log in with token=<redacted>"),
        (
            "steps/x.py:20",
            "Given",
            "I log in with token=xyz",
            "Given I log in with token=<redacted>",
        ),
        ("steps/x.py:30", "Then", "it is fine", "Then it is fine"),
        ("<undefined>", "Then", "nobody wrote this", "Then nobody wrote this"),
    ]
    statuses = [_Status("passed"), _Status("failed"), "skipped"]
    seen: list[dict[str, Any]] = []
    feature = fx.FakeFeature()
    d.begin("feature", feature)
    per_scenario = 100
    for s in range(steps // per_scenario):
        scenario = fx.FakeScenario(f"scenario {s}", f"features/a.feature:{s + 2}")
        d.begin("scenario", scenario)
        for _ in range(per_scenario):
            key, keyword, name, shown = rng.choice(texts)
            status = rng.choice(statuses)
            ns = rng.choice([0, 1, 1_000, 250_000, 1_234_567]) + rng.randrange(3_000_000)
            grow = rng.choice([0, 0, 0, 4096, -8192])
            step = fx.FakeStep(
                name,
                keyword=keyword,
                step_type="given",
                match=defs.get(key),
                status=status,
            )
            d.begin("step", step)
            d.clock.now += ns
            d.rss.bytes += grow
            d.end("step", step)
            seen.append(
                {"key": key, "text": shown, "ns": ns, "grow": grow,
                 "status": getattr(status, "name", status)}
            )  # fmt: skip
        d.end("scenario", scenario)
    d.end("feature", feature)
    return seen


def _expected(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows computed per step occurrence, slowest total first (stable on ties)."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for s in seen:
        by_key.setdefault(s["key"], []).append(s)
    rows = []
    for key, occ in by_key.items():
        ns = [s["ns"] for s in occ]
        texts: dict[str, list[int]] = {}
        for s in occ:
            texts.setdefault(s["text"], []).append(s["ns"])
        n = len(ns)
        thinned = ns if n <= 2000 else [ns[int(i * (n / 2000))] for i in range(2000)]
        rows.append(
            {
                "key": KEYS[key],
                "count": n,
                "total_ms": _ms(sum(ns)),
                "mean_ms": round(sum(ns) / 1_000_000 / n, 3),
                "min_ms": _ms(min(ns)),
                "p50_ms": _ms(_pct(ns, 50)),
                "p95_ms": _ms(_pct(ns, 95)),
                "max_ms": _ms(max(ns)),
                "statuses": dict(Counter(s["status"] for s in occ)),
                "rss_delta_mb": round(sum(s["grow"] for s in occ) / MB, 3),
                "texts": sorted(
                    (
                        {
                            "text": t,
                            "count": len(v),
                            "total_ms": _ms(sum(v)),
                            "mean_ms": round(sum(v) / 1_000_000 / len(v), 3),
                            "max_ms": _ms(max(v)),
                        }
                        for t, v in texts.items()
                    ),
                    key=lambda t: -t["total_ms"],
                ),
                "samples_ms": [_ms(x) for x in thinned],
            }
        )
    return sorted(rows, key=lambda r: -r["total_ms"])


def _aggregates(rows: Any) -> list[dict[str, Any]]:
    rows = orjson.loads(to_json(list(rows)))
    fields = ("key", "count", "total_ms", "mean_ms", "min_ms", "p50_ms", "p95_ms", "max_ms",
              "statuses", "rss_delta_mb", "texts", "samples_ms")  # fmt: skip
    return [{f: r[f] for f in fields} for r in rows]


class TestRepeatedStepsAggregates:
    """12,000 steps over 7 texts, 3 definitions plus undefined steps."""

    def test_document_matches_brute_force(self, make_observer: Any, fx: Any) -> None:
        d = make_observer(**{"profiling.memory_interval_ms": 0})  # RSS read at every step
        d.start()
        seen = _run(d, fx, 12_000)
        d.finish()
        record = d.record
        expected = _expected(seen)
        assert _aggregates(record.step_definitions) == expected
        # more than 2,000 samples: thinned in the record, exact figures over all of them
        assert max(r["count"] for r in expected) > 2000
        assert all(len(r.samples_ms) == min(2000, r.count) for r in record.step_definitions)
        # texts differing only in a secret are one row; patterns are redacted too
        login = next(r for r in record.step_definitions if r.location == "steps/x.py:20")
        assert login.pattern == "I log in with token=<redacted>"
        assert {t.text for t in login.texts} == {
            "Given I log in with token=<redacted>",
            "And I log in with token=<redacted>",
        }
        totals = record.totals
        assert totals.steps == 12_000
        assert totals.step_definitions == 4
        assert totals.steps_by_status == dict(
            sum((Counter(r["statuses"]) for r in expected), Counter())
        )
        assert record.attribution.ms("step_bodies") == round(sum(s["ns"] for s in seen) / 1e6, 3)

    def test_history_and_json_report_hold_the_same_rows(
        self, make_observer: Any, fx: Any, tmp_path: Path
    ) -> None:
        d = make_observer(
            **{
                "report.formats": ["json", "markdown", "prometheus"],
                "profiling.memory_interval_ms": 0,
            }
        )
        d.start()
        seen = _run(d, fx, 3_000)
        written = d.finish()
        expected = _expected(seen)
        report = json.loads((tmp_path / "reports/qhub-report.json").read_text())
        assert report["schema"] == "qhub.profile/2"
        assert _aggregates(report["step_definitions"]) == expected
        with open_history(d.obs.config, readonly=True) as history:
            (run,) = history.runs()
            (stored,) = history.parts(run.id)
        assert _aggregates(stored.step_definitions) == expected
        prom = (tmp_path / "reports/qhub-metrics.prom").read_text()
        for row in expected:
            assert f'definition="{row["key"]}"' in prom
            assert f"{row['count']}\n" in prom
        assert len(written) == 3

    def test_garbage_collector_state_is_restored(self, make_observer: Any, fx: Any) -> None:
        """finish() pauses automatic collection while it builds the report, then resumes it."""
        assert gc.isenabled()
        d = make_observer()
        d.start()
        _run(d, fx, 200)
        d.finish()
        assert gc.isenabled()
        gc.disable()
        try:
            d2 = make_observer()
            d2.start()
            _run(d2, fx, 200)
            d2.finish()
            assert not gc.isenabled()  # a caller's choice to keep it off is left alone
        finally:
            gc.enable()


def test_percentile_sorted_equals_percentile() -> None:
    rng = random.Random(3)
    for n in (1, 2, 3, 10, 101):
        values = [rng.randrange(10_000) for _ in range(n)]
        ordered = sorted(values)
        for q in (0, 25, 50, 95, 99.9, 100):
            assert percentile_sorted(ordered, q) == percentile(values, q) == _pct(values, q)
    assert percentile_sorted([], 50) == 0.0
