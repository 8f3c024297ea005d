#!/usr/bin/python3
# Parses an OpenMetrics text file with the reference parser
# (prometheus_client.openmetrics.parser, Debian's python3-prometheus-client)
# and prints what it understood as JSON, for openmetrics_parse_test.cc:
#   [{"name":..., "type":..., "unit":..., "samples":[{"name":...,"labels":{...},"value":...}]}]
# A text the parser rejects ends with exit status 1 and the parser's reason.
import json
import sys

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError as e:
    print(f"prometheus_client missing ({e}): apt-get install python3-prometheus-client "
          "(scripts/bootstrap.sh)", file=sys.stderr)
    sys.exit(2)

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
try:
    families = [
        {"name": fam.name, "type": fam.type, "unit": fam.unit,
         "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in fam.samples]}
        for fam in text_string_to_metric_families(text)
    ]
except ValueError as e:
    print(f"rejected: {e}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(families))
