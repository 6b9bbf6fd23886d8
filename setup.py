"""Build and install lob_core (Cython engine), mars_gym and agents."""

from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

COMPILER_DIRECTIVES = {
    "language_level": "3",
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}

# numpy's random C library: the compiled flows draw with numpy's own routines
NUMPY_RANDOM = {"library_dirs": [str(Path(numpy.get_include()).parents[1] / "random" / "lib")],
                "libraries": ["npyrandom"]}
extensions = [
    Extension(
        module,
        [module.replace(".", "/") + ".pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
        **(NUMPY_RANDOM if module == "mars_gym.sim._event_loop" else {}),
    )
    for module in ("lob_core._book", "lob_core._replay", "mars_gym.data.book_states",
                   "mars_gym.data.recording",
                   "mars_gym.sim._event_loop", "mars_gym.sim.flows._hawkes")
]

setup(  # metadata, dependencies and scripts: pyproject.toml
    packages=find_packages(include=["lob_core", "lob_core.*", "mars_gym", "mars_gym.*", "agents",
                                    "agents.*"]),
    package_data={"lob_core": ["*.pxd", "*.pyx", "py.typed"], "mars_gym": ["py.typed"],
                  "agents": ["py.typed"], "mars_gym.sim": ["*.pyx"],
                  "mars_gym.sim.flows": ["*.pyx"],
                  "mars_gym.lmm": ["assets/*.pt"],
                  "mars_gym.minutes": ["assets/*.pt"],
                  "mars_gym.data": ["*.pxd", "*.pyx", "assets/*.npz"]},
    ext_modules=cythonize(extensions, compiler_directives=COMPILER_DIRECTIVES),
    zip_safe=False,
)
