"""Build steps of the bitnet Python package that pyproject.toml cannot declare.

The package ships a native library, libbitnet, compiled from ./capi by the
local Go toolchain while the package is built (pip install ., pip install -e .,
python -m build --wheel). The wheel is therefore platform-specific: it is
tagged py3-none-<platform> (any Python 3, no CPython ABI dependency, since
the binding uses cffi's ABI mode) and needs no Go where it is installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # pragma: no cover - older setuptools with the wheel package
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "python" / "bitnet"


def _build_lib_module():
    spec = importlib.util.spec_from_file_location("bitnet_build_lib", ROOT / "scripts" / "build_lib.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class build_go(Command):
    """Compiles libbitnet with `go build -buildmode=c-shared` into the package."""

    description = "build libbitnet (the C ABI) with the Go toolchain"
    user_options = [("build-lib=", "b", "directory holding the built packages")]

    def initialize_options(self):
        self.build_lib = None
        self.editable_mode = False

    def finalize_options(self):
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def _out_dir(self) -> Path:
        # Editable installs import the package from the source tree.
        if self.editable_mode:
            return PACKAGE_DIR / "_lib"
        return Path(self.build_lib) / "bitnet" / "_lib"

    def run(self):
        mod = _build_lib_module()
        try:
            mod.build(self._out_dir())
        except mod.BuildError as e:
            raise SystemExit(f"error: {e}") from None

    def get_outputs(self):
        d = self._out_dir()
        return [str(d / _build_lib_module().library_name()), str(d / "bitnet.h")]

    def get_output_mapping(self):
        return {}


class build_py(_build_py):
    """build_py followed by build_go, so every build path compiles the library."""

    def run(self):
        super().run()
        cmd = self.reinitialize_command("build_go")
        cmd.editable_mode = getattr(self, "editable_mode", False)
        cmd.build_lib = self.build_lib
        self.run_command("build_go")

    def get_outputs(self, include_bytecode=True):
        outs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            go = self.get_finalized_command("build_go")
            outs += go.get_outputs()
        return outs


class BinaryDistribution(Distribution):
    """Marks the distribution as platform-specific (it contains libbitnet)."""

    def has_ext_modules(self):
        return True


class bdist_wheel(_bdist_wheel):
    """Tags the wheel py3-none-<platform>: any Python 3, this platform only."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    distclass=BinaryDistribution,
    # Keep setuptools' build tree out of the Makefile's build/ folder.
    options={"build": {"build_base": "python/build"}},
    cmdclass={"build_go": build_go, "build_py": build_py, "bdist_wheel": bdist_wheel},
)
