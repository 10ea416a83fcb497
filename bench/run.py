"""Run the benchmarks: ``python -m bench.run [NAME ...]`` (default: all).

A benchmark is a module ``bench/<name>.py`` with ``NAME`` and ``run() -> dict``; its figures are
written to ``bench/results/<name>.json`` and summarised in ``bench/results/SUMMARY.md``.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import traceback
from pathlib import Path

import bench
from bench.common import RESULTS, write_results

NOT_BENCHMARKS = {"common", "chains", "run"}


def discover() -> dict[str, object]:
    """Every benchmark module, by name."""
    found = {}
    for module_info in pkgutil.iter_modules(bench.__path__):
        if module_info.name in NOT_BENCHMARKS or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        if hasattr(module, "run"):
            found[getattr(module, "NAME", module_info.name)] = module
    return found


def summarise() -> Path:
    """A Markdown table of every result file."""
    lines = ["# Benchmark figures", "", "Written by `make bench`; one section per benchmark.", ""]
    for path in sorted(RESULTS.glob("*.json")):
        document = json.loads(path.read_text())
        lines += [f"## {document['benchmark']} ({document['ran_at']}, {document['machine']['cpus']} CPUs)", "",
                  "| figure | value |", "|---|---|"]
        for key, value in _flatten(document["figures"]):
            lines.append(f"| {key} | {value} |")
        lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = RESULTS / "SUMMARY.md"
    summary.write_text("\n".join(lines))
    return summary


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default)."""
    benchmarks = discover()
    names = argv or sorted(benchmarks)
    failed = []
    for name in names:
        if name not in benchmarks:
            print(f"no benchmark {name!r}; known: {', '.join(sorted(benchmarks))}", file=sys.stderr)
            return 2
        print(f"== {name}", flush=True)
        try:
            figures = benchmarks[name].run()
        except Exception:  # noqa: BLE001 - report and go on with the others
            traceback.print_exc()
            failed.append(name)
            continue
        print(json.dumps(figures, indent=2), flush=True)
        write_results(name, figures)
    print(f"summary: {summarise()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
