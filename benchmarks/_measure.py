"""Time and peak resident memory of a benchmark's stages (shared by the benchmark scripts)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class PeakMemory:
    """Sample this process's resident set size in a thread; ``peak`` in GiB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                pages = int(f.read().split()[1])
            self.peak = max(self.peak, pages * 4096 / 2**30)
            time.sleep(0.005)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(rows: list[dict], stage: str, func: Callable[..., Any], *args: Any, **kwargs: Any):
    """Call ``func``, append ``{stage, seconds, peak_gib}`` to ``rows`` and return its result."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        result = func(*args, **kwargs)
        seconds = time.perf_counter() - start
    rows.append({"stage": stage, "seconds": seconds, "peak_gib": memory.peak})
    return result


class Timed:
    """Wrap a callable and record the seconds of each call (``calls``; ``seconds`` in all)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func, self.calls = func, []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.func(*args, **kwargs)
        finally:
            self.calls.append(time.perf_counter() - start)

    @property
    def seconds(self) -> float:
        """Seconds spent in all calls."""
        return sum(self.calls)
