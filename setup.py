"""Builds the Python package attend: CMake compiles the extension attend._attend (the target
_attend only: the library and the module, Release) in build-python/, kept between builds so that
ccache and reruns are fast; the package's .py files come from python/attend/.

    pip install --no-build-isolation .          (into the current environment)
    pip wheel --no-build-isolation --no-deps -w DIST .
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build-python"


def project_version() -> str:
    """The version in CMakeLists.txt's project() (also the module's __version__)."""
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(attend VERSION ([0-9.]+)", text).group(1)


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(BUILD), "-G", "Ninja",
            "-DCMAKE_BUILD_TYPE=Release",
            "-DATTEND_PYTHON=ON", "-DATTEND_BUILD_TESTS=OFF", "-DATTEND_BUILD_BENCH=OFF",
            f"-DPython_EXECUTABLE={sys.executable}",
        ]  # fmt: skip
        if shutil.which("ccache"):
            configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        subprocess.check_call(configure)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        subprocess.check_call(["cmake", "--build", str(BUILD), "--target", "_attend", "-j", jobs])
        dest = Path(self.get_ext_fullpath(ext.name))
        built = BUILD / "python" / "attend" / dest.name
        if not built.exists():
            sys.exit(f"error: CMake built no {built} (another Python's suffix?)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)
        # the shared library the module links, beside it (the module's RPATH has $ORIGIN)
        library = BUILD / "libattend.so.0"
        if library.exists():
            shutil.copyfile(library.resolve(), dest.parent / library.name)


setup(
    name="attend",
    version=project_version(),
    description="Attention-based time-series forecasting (TSLib-compatible), C++ core",
    python_requires=">=3.9",
    install_requires=["numpy", "pandas"],
    packages=["attend"],
    package_dir={"attend": "python/attend"},
    ext_modules=[CMakeExtension("attend._attend")],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own build files beside CMake's, not in build/ (the C++ build folder)
    options={"build": {"build_base": str(BUILD / "setuptools")}},
    zip_safe=False,
)
