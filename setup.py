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

extensions = [
    Extension(
        module,
        [module.replace(".", "/") + ".pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
    for module in ("lob_core._book", "lob_core._replay", "mars_gym.sim.flows._hawkes")
]

setup(
    name="mars_gym",
    version="0.1.0",
    description=(
        "Market simulation with a generative order-flow model: a Cython matching engine, "
        "LOBSTER replay, and Gymnasium execution environments."
    ),
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["lob_core", "lob_core.*", "mars_gym", "mars_gym.*", "agents", "agents.*"]),
    package_data={"lob_core": ["*.pxd", "*.pyx"], "mars_gym.sim.flows": ["*.pyx"],
                  "mars_gym.lmm": ["assets/*.pt", "assets/*.json"],
                  "mars_gym.batch": ["assets/*.pt", "assets/*.json"]},
    ext_modules=cythonize(extensions, compiler_directives=COMPILER_DIRECTIVES),
    install_requires=["numpy>=1.26", "pandas>=2.0", "scipy>=1.11", "matplotlib>=3.7", "gymnasium>=1.0",
                      "tqdm>=4.60", "torch>=2.3", "tensorboard>=2.12"],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100", "stable-baselines3>=2.3"],
        "agents": ["stable-baselines3>=2.3"],
        "bench": ["cython-orderbook"],
        "serve": ["ray[serve]>=2.9"],
    },
    entry_points={"console_scripts": ["mars-gym=mars_gym.cli:main"]},
    zip_safe=False,
)
