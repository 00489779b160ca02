"""GC tuning is process-wide, so it is checked in a child interpreter."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import gc
from openconnector.gctuning import YOUNG_THRESHOLD, tune_for_throughput
assert gc.get_freeze_count() == 0
tune_for_throughput()
frozen = gc.get_freeze_count()
assert frozen > 0, frozen
assert gc.get_threshold()[0] == YOUNG_THRESHOLD
junk = [[i] for i in range(1000)]
tune_for_throughput()  # a second call must not freeze what was allocated since
assert gc.get_freeze_count() == frozen, (gc.get_freeze_count(), frozen)
a = []; a.append(a); del a  # cycles are still collected
assert gc.collect() >= 1
print("ok")
"""


def test_freezes_once_and_raises_the_young_threshold() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
