"""mars_gym: market simulation with a generative order-flow model and Gymnasium environments."""

__version__ = "0.1.0"
