#!/usr/bin/env python3
"""Prints every zk-stats-daemon metric the alerting rules and the Grafana dashboard use.

usage: scripts/metric-names.py

Reads deploy/alerts.yml (its rules' expressions and the queries in their annotations; comment
lines are skipped) and every `expr` of deploy/grafana-dashboard.json, and prints each
`zkwire_…` metric name they reference, one per line, sorted and unique. Histogram series
(`_bucket`, `_count`, `_sum`) are printed as the histogram's base name; counters keep their
`_total` suffix as written. An end-to-end test can check that the daemon exposes each one.
"""
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = re.compile(r"\bzkwire_[A-Za-z0-9_]*[A-Za-z0-9]")
HISTOGRAM_SERIES = re.compile(r"_(bucket|count|sum)$")


def alert_texts(path):
    with open(path) as f:
        for line in f:
            if not line.lstrip().startswith("#"):
                yield line


def dashboard_exprs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from dashboard_exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from dashboard_exprs(value)


def main() -> None:
    texts = list(alert_texts(os.path.join(ROOT, "deploy", "alerts.yml")))
    with open(os.path.join(ROOT, "deploy", "grafana-dashboard.json")) as f:
        texts += dashboard_exprs(json.load(f))
    names = {HISTOGRAM_SERIES.sub("", name) for text in texts for name in NAME.findall(text)}
    for name in sorted(names):
        print(name)


if __name__ == "__main__":
    main()
