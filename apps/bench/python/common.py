"""Shared by the PyTorch halves of the step benchmarks."""
import statistics
import time


def blas_in_use() -> str:
    """Which BLAS this process loaded: Debian's python3-torch calls the system libblas.so.3, the
    unoptimised reference BLAS unless OpenBLAS is installed as its alternative (~40x slower matmuls)."""
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line}
    return 'openblas' if any('openblas' in lib for lib in libs) else ('reference' if libs else 'unknown')


def median_ms(step, steps: int, warmup: int) -> float:
    """Median wall time of `step()` in ms over `steps` timed calls after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)
