"""mars_gym: market simulation with a generative order-flow model and Gymnasium environments."""

__version__ = "0.1.0"

from mars_gym import envs  # noqa: F401  registers the Gymnasium environments
