"""Which BLAS a PyTorch process runs on: Debian's python3-torch calls the system libblas.so.3, the
unoptimised reference BLAS unless OpenBLAS is installed as its alternative (~40x slower matmuls)."""


def blas_in_use() -> str:
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line}
    return 'openblas' if any('openblas' in lib for lib in libs) else ('reference' if libs else 'unknown')
