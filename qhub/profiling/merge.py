"""Merging the documents of one run group (parallel workers) into one report document.

Counts and totals add up exactly (within one run group, features and scenarios count each
``file:line`` once, however many workers ran part of it); percentiles come from the stored
samples of all workers.
Attribution is summed over workers (worker-time, not wall time: it is labelled so), and
the group's wall time is the longest worker's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from qhub.profiling.aggregate import thin
from qhub.profiling.stats import summarize_ms


def _worker(doc: dict[str, Any], index: int) -> str:
    run = doc.get("run", {})
    return str(run.get("worker_id") or run.get("id") or index)


def _merge_timed(rows_by_doc: Sequence[list[dict[str, Any]]], key: str) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for rows in rows_by_doc:
        for row in rows:
            cur = merged.get(row[key])
            if cur is None:
                merged[row[key]] = {**row, "samples_ms": list(row.get("samples_ms", []))}
                if "texts" in row:
                    merged[row[key]]["texts"] = [dict(t) for t in row["texts"]]
                if "statuses" in row:
                    merged[row[key]]["statuses"] = dict(row["statuses"])
                continue
            cur["count"] += row["count"]
            cur["total_ms"] = round(cur["total_ms"] + row["total_ms"], 3)
            cur["max_ms"] = max(cur["max_ms"], row["max_ms"])
            cur["min_ms"] = min(cur["min_ms"], row["min_ms"])
            cur["samples_ms"].extend(row.get("samples_ms", []))
            for name in ("rss_delta_mb", "errors"):
                if name in row:
                    cur[name] = round(cur.get(name, 0) + row[name], 3)
            for status, n in row.get("statuses", {}).items():
                cur["statuses"][status] = cur["statuses"].get(status, 0) + n
            if "texts" in row:
                _merge_texts(cur["texts"], row["texts"])
    out = []
    for row in merged.values():
        figures = summarize_ms(row["samples_ms"])
        row["mean_ms"] = round(row["total_ms"] / row["count"], 3) if row["count"] else 0.0
        row["p50_ms"], row["p95_ms"] = figures["p50_ms"], figures["p95_ms"]
        row["samples_ms"] = thin(row["samples_ms"])
        out.append(row)
    return sorted(out, key=lambda r: -r["total_ms"])


def _merge_texts(into: list[dict[str, Any]], more: list[dict[str, Any]]) -> None:
    by_text = {t["text"]: t for t in into}
    for t in more:
        cur = by_text.get(t["text"])
        if cur is None:
            into.append(dict(t))
            by_text[t["text"]] = into[-1]
            continue
        cur["count"] += t["count"]
        cur["total_ms"] = round(cur["total_ms"] + t["total_ms"], 3)
        cur["max_ms"] = max(cur["max_ms"], t["max_ms"])
        cur["mean_ms"] = round(cur["total_ms"] / cur["count"], 3)
    into.sort(key=lambda t: -t["total_ms"])


def _sum_by(
    rows_by_doc: Sequence[list[dict[str, Any]]],
    key: str,
    fields: Sequence[str],
    peak: Callable[[dict[str, Any]], float] | None = None,
) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for rows in rows_by_doc:
        for row in rows:
            cur = merged.setdefault(row[key], {**row, **{f: 0 for f in fields}})
            for f in fields:
                cur[f] = round(cur[f] + row[f], 3)
            if "max_ms" in row:
                cur["max_ms"] = max(cur["max_ms"], row["max_ms"])
    for row in merged.values():
        if "mean_ms" in row and row.get("count"):
            row["mean_ms"] = round(row["total_ms"] / row["count"], 3)
    return list(merged.values())


def _distinct_totals(docs: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Features and scenarios counted once per ``file:line`` within each run group.

    Under behavex a worker may run one scenario of a feature, so every worker of the group
    reports the feature: summing would count it once per worker. Separate run groups
    (``qhub report --last N``) are separate runs of the suite and do add up, as do steps.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, d in enumerate(docs):
        groups.setdefault(str(d.get("run", {}).get("group") or f"#{i}"), []).append(d)
    out = {"features": 0, "scenarios": 0, "scenarios_failed": 0}
    for members in groups.values():
        scenarios = [s for d in members for s in d.get("scenarios", [])]
        out["features"] += len({f["key"] for d in members for f in d.get("features", [])})
        out["scenarios"] += len({s["key"] for s in scenarios})
        out["scenarios_failed"] += len({s["key"] for s in scenarios if s.get("status") == "failed"})
    return out


def merge_documents(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One document for the whole group; a single document is returned unchanged."""
    if len(docs) == 1:
        return docs[0]
    if not docs:
        raise ValueError("nothing to merge")
    workers = [_worker(d, i) for i, d in enumerate(docs)]
    first = docs[0]
    scenarios = [
        {**s, "worker": w} for d, w in zip(docs, workers, strict=True) for s in d["scenarios"]
    ]
    features = [
        {**f, "worker": w} for d, w in zip(docs, workers, strict=True) for f in d["features"]
    ]
    parts = _sum_by([d["attribution"]["parts"] for d in docs], "name", ["ms"])
    worker_time = sum(p["ms"] for p in parts)
    for p in parts:
        p["percent"] = round(100.0 * p["ms"] / worker_time, 2) if worker_time else 0.0
    totals: dict[str, Any] = {}
    for d in docs:
        for k, v in d["totals"].items():
            if isinstance(v, dict):
                bucket = totals.setdefault(k, {})
                for sk, sv in v.items():
                    bucket[sk] = bucket.get(sk, 0) + sv
            else:
                totals[k] = totals.get(k, 0) + v
    step_rows = _merge_timed([d["step_definitions"] for d in docs], "key")
    totals["step_definitions"] = len(step_rows)
    totals.update(_distinct_totals(docs))
    return {
        "schema": first["schema"],
        "run": {
            **first["run"],
            "id": first["run"]["group"],
            "workers": len(docs),
            "worker_ids": workers,
            "runs": [d["run"]["id"] for d in docs],
            "wall_ms": max(d["run"]["wall_ms"] for d in docs),
            "status": "failed"
            if any(d["run"].get("status") == "failed" for d in docs)
            else first["run"].get("status"),
        },
        "totals": totals,
        "attribution": {
            "wall_ms": round(worker_time, 3),
            "parts_total_ms": round(worker_time, 3),
            "measured_from": f"process start, summed over {len(docs)} workers (worker time)",
            "parts": parts,
        },
        "step_definitions": step_rows,
        "scenarios": scenarios,
        "features": features,
        "hooks": sorted(
            _sum_by([d["hooks"] for d in docs], "hook", ["count", "total_ms", "failed"]),
            key=lambda h: -h["total_ms"],
        ),
        "step_modules": first["step_modules"],
        "methods": _merge_timed([d.get("methods", []) for d in docs], "method"),
        "memory": {
            "enabled": any(d["memory"].get("enabled") for d in docs),
            "series": [],
            "series_by_worker": {
                w: d["memory"].get("series", []) for d, w in zip(docs, workers, strict=True)
            },
            "peak_mb": max((d["memory"].get("peak_mb", 0.0) for d in docs), default=0.0),
        },
        "stats": {w: d.get("stats", {}) for d, w in zip(docs, workers, strict=True)},
    }
