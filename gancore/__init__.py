"""gancore: the small Keras 3 library behind the book on generative convolutional networks."""

import os
import warnings

# TensorFlow's C++ log lines (oneDNN and CPU-feature notices, XLA start-up
# lines, grappler's harmless "remapper failed" errors, tf.data cache warnings)
# are noise in a chapter's outputs. They are filtered by this variable, which
# TensorFlow reads once when it is first imported: so it is set here, before
# anything below imports Keras. Level 3 keeps fatal messages only; Python
# exceptions are unaffected. A value the reader has set is kept.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# `fit` warns that its default `shuffle=True` is ignored for a tf.data.Dataset.
# The datasets of `gancore.data.make_dataset` reshuffle themselves every pass,
# so the warning has nothing to say about them. Only this message is filtered;
# in new code pass `fit(..., shuffle=False)` with a dataset, which avoids it.
warnings.filterwarnings(
    "ignore",
    message=r"`shuffle=True` was passed, but will be ignored since the data `x` was provided "
    r"as a tf\.data\.Dataset",
    category=UserWarning,
)

__version__ = "0.1.0"

from gancore.config import by_profile, provenance, resolve_profile, seed_everything, start_run  # noqa: E402

__all__ = [
    "__version__",
    "by_profile",
    "provenance",
    "resolve_profile",
    "seed_everything",
    "start_run",
]
