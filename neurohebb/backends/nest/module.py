"""Import NEST quietly and build neurohebb's NEST extension module once.

``neurohebb_nest.cpp`` (beside this file) holds two NEST models that execute
the IR's equations step for step: ``neurohebb_lif`` (the IR's discrete-time
LIF) and ``neurohebb_synapse`` (the spike-triggered rule algebra with the IR's
arrival-based pairing).  It is compiled with the C++ compiler against the
headers that ship with NEST (``site-packages/nest/include``; the wheel's
``nest-config`` names a build folder that does not exist) and cached under
``$NEUROHEBB_CACHE/nest/<hash>/`` (default ``~/.cache/neurohebb``), keyed by
the source, the NEST version, the compiler and where NEST's headers are, so it is built once per
machine (about 20 s).  Building needs ``g++`` (C++20) and the Boost headers
that NEST's headers include (``apt-get install g++ libboost-dev``).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ...errors import BackendUnavailable

SOURCE = Path(__file__).with_name("neurohebb_nest.cpp")
CACHE_DIR = Path(os.environ.get("NEUROHEBB_CACHE", Path.home() / ".cache" / "neurohebb")) / "nest"
#: IR step t is NEST stamp t + 1 + OFFSET (as in neurohebb_nest.cpp)
OFFSET = 1
#: the C++ standard library ABI: the manylinux wheel is built with the old one
ABIS = ("0", "1")

_nest = None
_library: Path | None = None


def numba_layer():
    """The threading layer numba has launched in this process (None: not yet)."""
    mod = sys.modules.get("numba.np.ufunc.parallel")
    return getattr(mod, "_threading_layer", None) if mod is not None else None


def openmp_conflict() -> bool:
    """True when numba runs its ``omp`` threading layer in this process: NEST's
    own OpenMP runtime (the wheel vendors a libgomp) and numba's crash together
    (a segmentation fault in ``nest.ResetKernel``), so NEST must run in a
    separate process."""
    return numba_layer() == "omp"


def _keep_numba_off_openmp():
    """Let numba use its ``workqueue`` threading layer in a process that runs
    NEST (unless it has launched a layer already or the user chose one)."""
    if numba_layer() is not None or os.environ.get("NUMBA_THREADING_LAYER"):
        return
    try:
        import numba
    except ImportError:
        return
    if numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"


def import_nest():
    """``nest``, imported without its banner and with only errors logged."""
    global _nest
    if _nest is not None:
        return _nest
    _keep_numba_off_openmp()
    os.environ.setdefault("PYNEST_QUIET", "1")
    # NEST's threads meet at an OpenMP barrier every min_delay; spinning there
    # costs 10x on a loaded machine (2 threads: 30 s instead of 3.5 s, Song at
    # 10^5 synapses on 2 busy cores).  Read when NEST's OpenMP runtime loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nest

    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST
        nest.set_verbosity("M_ERROR")
    _nest = nest
    return nest


def include_flags() -> list[str]:
    """``-I`` flags for NEST's headers: the wheel's ``site-packages/nest/include/nest``,
    else what ``nest-config --includes`` says (a NEST built from source, e.g. with MPI)."""
    nest = import_nest()
    wheel = Path(nest.__file__).resolve().parent / "include" / "nest"
    if (wheel / "nest_extension_interface.h").exists():
        return [f"-I{wheel}"]
    cfg = shutil.which("nest-config")
    if cfg:
        proc = subprocess.run([cfg, "--includes"], capture_output=True, text=True)
        flags = [f for f in proc.stdout.split() if f.startswith("-I") and Path(f[2:]).is_dir()]
        if any((Path(f[2:]) / "nest_extension_interface.h").exists() for f in flags):
            return flags
    raise BackendUnavailable("NEST's C++ headers (nest_extension_interface.h) were found neither in the nest "
                             "package nor through nest-config --includes; neurohebb's NEST module needs them")


def _compile(cxx: str, abi: str, out: Path, build: Path):
    (build / "ltdl.h").write_text("typedef struct lt__handle* lt_dlhandle;\n")  # NEST's headers name it only
    cmd = [cxx, "-std=c++20", "-O2", "-fPIC", "-shared", "-fopenmp", "-DNDEBUG", f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
           *include_flags(), f"-I{build}", "-o", str(out), str(SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        first = next((ln for ln in err if "error" in ln), err[-1] if err else "")
        hint = " (install the Boost headers: apt-get install libboost-dev)" if "boost" in first else ""
        raise BackendUnavailable(f"building neurohebb's NEST module failed: {first}{hint}")


def library() -> Path:
    """The compiled module (built on first use); BackendUnavailable when it cannot be built."""
    global _library
    if _library is not None:
        return _library
    nest = import_nest()
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise BackendUnavailable(f"the nest backend compiles a NEST extension module once and needs a C++ compiler "
                                 f"({cxx!r} not found; apt-get install g++ libboost-dev, or set $CXX)")
    version = getattr(nest, "__version__", "")
    where = " ".join(include_flags())
    key = hashlib.sha1(SOURCE.read_bytes() + version.encode() + cxx.encode() + sys.version.encode()
                       + where.encode()).hexdigest()[:16]
    folder = CACHE_DIR / key
    out = folder / "neurohebb_nest.so"
    if not out.exists():
        folder.mkdir(parents=True, exist_ok=True)
        last = None
        for abi in ABIS:
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                tmp = Path(tmp)
                so = tmp / "neurohebb_nest.so"
                _compile(cxx, abi, so, tmp)
                try:  # every NEST symbol must resolve against the loaded kernel
                    ctypes.CDLL(str(so), mode=os.RTLD_GLOBAL | os.RTLD_NOW)
                except OSError as exc:
                    last = exc
                    continue
                os.replace(so, out)  # atomic: concurrent workers build the same file
                break
        else:
            raise BackendUnavailable(f"neurohebb's NEST module does not link against this NEST ({last})")
    _library = out
    return out


def reset_kernel(threads: int = 1):
    """A fresh NEST kernel at 1 ms resolution with ``threads`` threads per
    process and neurohebb's models installed."""
    nest = import_nest()
    nest.ResetKernel()
    nest.resolution = 1.0
    nest.local_num_threads = int(threads)
    nest.Install(str(library()))
    return nest
