"""pip install ./tools/python: builds libvwhnsw (static, with CMake, as the
project does: the SIMD kernels need their own compiler flags) and links the
module vwhnsw with it. Offline on Debian, with its own setuptools and pip:

    python3 -m pip install --no-build-isolation --no-index ./tools/python

(add --break-system-packages for Debian's own interpreter outside a venv;
the README's "From Python" section has the variants). Needs cmake and a C
compiler; no numpy headers (the module uses the buffer protocol).
"""
import os
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCES = ["module.c", "convert.c", "search.c", "index.c", "index_ops.c", "bfindex.c", "store.c",
           "attrs.c"]


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        for line in f:
            if line.startswith("project(vwhnsw VERSION"):
                return line.split()[2]
    raise RuntimeError("no version in CMakeLists.txt")


class BuildWithLibrary(build_ext):
    """Builds the static library first, then links it into the module."""

    def run(self):
        lib_build = os.path.abspath(os.path.join(self.build_temp, "libvwhnsw"))
        subprocess.check_call(["cmake", "-S", ROOT, "-B", lib_build, "-DCMAKE_BUILD_TYPE=Release",
                               "-DVW_BUILD_TOOLS=OFF", "-DVW_BUILD_TESTS=OFF",
                               "-DVW_BUILD_BENCH=OFF"])
        subprocess.check_call(["cmake", "--build", lib_build, "--target", "vwhnsw_static",
                               "-j", str(os.cpu_count() or 1)])
        for ext in self.extensions:
            ext.extra_objects = [os.path.join(lib_build, "lib", "libvwhnsw.a")]
        super().run()


setup(
    name="vwhnsw",
    version=project_version(),
    description="HNSW vector search (libvwhnsw) with hnswlib's Python API",
    license="See LICENSE in the repository",
    ext_modules=[Extension("vwhnsw", sources=SOURCES, include_dirs=[os.path.join(ROOT, "include")],
                           define_macros=[("_GNU_SOURCE", None)],
                           extra_compile_args=["-std=c11", "-fvisibility=hidden"],
                           libraries=["pthread", "m"])],
    cmdclass={"build_ext": BuildWithLibrary},
    zip_safe=False,
)
