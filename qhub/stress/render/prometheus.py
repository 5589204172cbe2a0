"""The stress figures in Prometheus' text exposition format (for a Pushgateway or a file
collector): summaries with quantiles per endpoint, step and scenario, plus run totals."""

from __future__ import annotations

from qhub.stress.result import Row, StressResult

_QUANTILES = (("0.5", "p50_ms"), ("0.9", "p90_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms"))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _summary(name: str, help_: str, label: str, rows: list[Row]) -> list[str]:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} summary"]
    for r in rows:
        base = f'{label}="{_escape(r.key)}"'
        for q, attr in _QUANTILES:
            lines.append(f'{name}{{{base},quantile="{q}"}} {getattr(r, attr) / 1000.0:.6f}')
        lines.append(f"{name}_count{{{base}}} {r.count}")
        lines.append(f"{name}_sum{{{base}}} {r.mean_ms * r.count / 1000.0:.6f}")
    return lines


def _errors(name: str, label: str, rows: list[Row]) -> list[str]:
    lines = [f"# HELP {name} failures by kind", f"# TYPE {name} counter"]
    for r in rows:
        for kind, n in r.errors_by_kind.items():
            lines.append(f'{name}{{{label}="{_escape(r.key)}",kind="{_escape(kind)}"}} {n}')
    return lines


def render(result: StressResult) -> str:
    lines = _summary(
        "qhub_stress_request_duration_seconds",
        "request latency per endpoint",
        "endpoint",
        [result.requests, *result.endpoints],
    )
    lines += _errors("qhub_stress_request_errors_total", "endpoint", result.endpoints)
    lines += _summary(
        "qhub_stress_step_duration_seconds",
        "step duration per step definition",
        "step",
        result.steps,
    )
    lines += _summary(
        "qhub_stress_scenario_duration_seconds",
        "scenario duration",
        "scenario",
        result.scenarios,
    )
    lines += _errors("qhub_stress_scenario_failures_total", "scenario", result.scenarios)
    lines += [
        "# HELP qhub_stress_requests_per_second completed requests per second",
        "# TYPE qhub_stress_requests_per_second gauge",
        f"qhub_stress_requests_per_second {result.requests.rate_per_s}",
        "# HELP qhub_stress_users virtual users",
        "# TYPE qhub_stress_users gauge",
        f"qhub_stress_users {result.plan.users}",
        "# HELP qhub_stress_iterations_total completed iterations",
        "# TYPE qhub_stress_iterations_total counter",
        f"qhub_stress_iterations_total {result.iterations['completed']}",
        "# HELP qhub_stress_elapsed_seconds length of the load phase",
        "# TYPE qhub_stress_elapsed_seconds gauge",
        f"qhub_stress_elapsed_seconds {result.elapsed_s}",
        "# HELP qhub_stress_budget_passed 1 when the budget was met",
        "# TYPE qhub_stress_budget_passed gauge",
    ]
    lines += [
        f'qhub_stress_budget_passed{{budget="{_escape(b.name)}"}} {int(b.passed)}'
        for b in result.budgets
    ]
    return "\n".join(lines) + "\n"
