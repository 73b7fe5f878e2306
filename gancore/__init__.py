"""gancore: the small Keras 3 library behind the book on generative convolutional networks."""

__version__ = "0.1.0"

from gancore.config import by_profile, provenance, resolve_profile, seed_everything, start_run

__all__ = [
    "__version__",
    "by_profile",
    "provenance",
    "resolve_profile",
    "seed_everything",
    "start_run",
]
