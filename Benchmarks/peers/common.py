"""What every peer script shares: timing, thread settings, importing the peers, and the
one-JSON-object-per-line output that `tensorbench` (Benchmarks/tensorbench/Peers.swift) reads.

    from common import timed, emit, why, load_torch
    lo, med = timed(lambda: x @ w, repeat=5)
    emit("numpy", "256x1024", (lo, med), np.__version__)
"""
import json
import os
import statistics
import time


WARMUP_SECONDS = 0.2


def timed(fn, repeat, warmup=1, between=None):
    """Runs fn untimed `warmup` times and on until 200 ms have passed, at most 2000 calls (page
    faults, thread pools, kernel selection; a worker thread woken after a long sleep can share
    the caller's core until the scheduler moves it: tensorbench's Timing.measure does the
    same), then `repeat` times timed; `between` (if given) runs before each timed call,
    outside the timing (a cache flush, zeroing gradients). Returns (min, median) seconds."""
    start, calls = time.perf_counter(), 0
    while calls < warmup or (warmup > 0 and calls < 2000 and time.perf_counter() - start < WARMUP_SECONDS):
        fn()
        calls += 1
    times = []
    for _ in range(repeat):
        if between is not None:
            between()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def emit(peer, label, times, version, extra=None, series=None, **info):
    """One figure: {"peer", "label", "min", "median", "version", ...info}. `extra` (name to
    number: final loss, accuracy) and `series` (a loss per step) travel into tensorbench's
    report; `info` (the call timed, step counts) is for a reader of the raw lines."""
    lo, med = times
    record = {"peer": peer, "label": label, "min": lo, "median": med, "version": version}
    if extra:
        record["extra"] = extra
    if series:
        record["series"] = series
    record.update(info)
    print(json.dumps(record), flush=True)


def why(peer, reason, label=None):
    """Says why `peer` has no figure (for `label`, or for every label when None)."""
    record = {"peer": peer, "why": reason}
    if label is not None:
        record["label"] = label
    print(json.dumps(record), flush=True)


def set_threads(threads):
    """Thread count for numpy's BLAS and torch's intra-op pool; call before importing them."""
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)


def load_torch(threads=None):
    """(torch, None), or (None, the reason it cannot be imported)."""
    try:
        import torch
    except Exception as error:  # missing, or a broken install
        return None, "torch not importable: %s" % error
    if threads:
        torch.set_num_threads(threads)
    return torch, None


def load_numpy_and_torch(threads=None, peer="torch"):
    """(numpy, torch) with torch's threads set; where either cannot be imported, reports why
    under `peer` and returns (None, None)."""
    np, reason = load_numpy()
    torch = None
    if np is not None:
        torch, reason = load_torch(threads)
    if torch is None:
        why(peer, reason)
        return None, None
    return np, torch


def load_numpy():
    """(numpy, None), or (None, the reason it cannot be imported)."""
    try:
        import numpy
    except Exception as error:
        return None, "numpy not importable: %s" % error
    return numpy, None


class Flusher:
    """Reads a 96 MB buffer so the next timed call finds its weights in memory, not cache
    (the Swift side's CacheFlusher does the same)."""

    def __init__(self, np):
        self.buffer = np.ones(96 << 20 >> 2, dtype=np.float32)
        self.sink = 0.0

    def __call__(self):
        self.sink += float(self.buffer.sum())
