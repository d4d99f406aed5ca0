#!/usr/bin/env python3
"""Which BLAS kernels the peers run, for tensorbench's report: one JSON line per library,
{"peer": "blas", "library": "numpy", "info": "..."}. With threadpoolctl (pip install
threadpoolctl; scripts/install-deps --peers installs it) the OpenBLAS core each library
loaded at run time (its "architecture", e.g. SkylakeX or Zen) and its thread count; without
it, numpy.show_config's build record and torch.__config__ (no run-time core), saying so.
Run under the same environment as the timed peers (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE).

    python3 Benchmarks/peers/blas_info.py
"""
import json
import os
import re


def line(library, info):
    print(json.dumps({"peer": "blas", "library": library, "info": info}), flush=True)


def main():
    libraries = {}
    try:
        import numpy
        libraries["numpy"] = numpy
    except Exception as error:
        line("numpy", "not importable: %s" % error)
    try:
        import torch
        libraries["torch"] = torch
        line("torch", "%s, CPU capability %s" % (torch.__version__, torch.backends.cpu.get_cpu_capability()))
    except Exception as error:
        line("torch", "not importable: %s" % error)
    try:
        from threadpoolctl import threadpool_info
    except Exception:
        threadpool_info = None
    if threadpool_info is not None:
        for pool in threadpool_info():
            if pool.get("user_api") != "blas":
                continue
            path = pool.get("filepath", "")
            owner = next((name for name in libraries if os.sep + name in path), os.path.basename(path))
            line(owner, "%s %s, core %s, %s threads (threadpoolctl)" % (
                pool.get("internal_api"), pool.get("version"), pool.get("architecture"), pool.get("num_threads")))
        return
    if "numpy" in libraries:
        try:
            blas = libraries["numpy"].show_config(mode="dicts")["Build Dependencies"]["blas"]
            line("numpy", "%s %s (build record; the run-time core needs threadpoolctl, not installed)"
                 % (blas.get("name"), blas.get("version")))
        except Exception as error:
            line("numpy", "BLAS unknown: %s (threadpoolctl not installed)" % error)
    if "torch" in libraries:
        found = re.search(r"BLAS_INFO=\w+", libraries["torch"].__config__.show())
        line("torch", "%s (build record; threadpoolctl not installed)" % (found.group(0) if found else "BLAS_INFO unknown"))


if __name__ == "__main__":
    main()
