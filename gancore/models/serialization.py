"""The one piece of `.keras` saving every model family shares."""

from __future__ import annotations

import keras


def with_submodels(config: dict, *names: str) -> dict:
    """A copy of a `get_config` dict with the named sub-models rebuilt.

    `get_config` stores sub-models (generator, critic, encoder, ...) with
    `keras.saving.serialize_keras_object`; `from_config` calls this to turn
    them back into models before calling the constructor.
    """
    config = dict(config)
    for name in names:
        config[name] = keras.saving.deserialize_keras_object(config[name])
    return config
