"""Run every benchmark in turn, each in its own process: ``python bench/run_all.py [name ...]``.

Names are script names without ``.py`` (overhead, mlp_step, tiny_net, long_chain, fit_epoch,
conv_layer, compiled_step);
none runs them all.  The OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides are removed and every
thread pool is pinned to one thread before each script starts.
"""
import os
import subprocess
import sys
import time

SCRIPTS = ("overhead", "mlp_step", "tiny_net", "long_chain", "fit_epoch", "conv_layer", "compiled_step")


def main(names):
    here = os.path.dirname(os.path.abspath(__file__))
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {list(SCRIPTS)}")
    failed = []
    for name in names or SCRIPTS:
        start = time.perf_counter()
        code = subprocess.call([sys.executable, os.path.join(here, name + ".py")], env=env)
        print(f"  ({name}: {time.perf_counter() - start:.0f} s)\n", flush=True)
        if code:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {failed}")


if __name__ == "__main__":
    main(sys.argv[1:])
