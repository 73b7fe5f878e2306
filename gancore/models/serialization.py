"""The pieces of `.keras` saving every model family shares."""

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


class SavesSeedState:
    """Mixin for a layer or model whose `SeedGenerator` states go into its `.keras` file.

    Keras saves weights but not the state of a random-number generator, so a
    loaded model would draw the noise of step 0 again and a resumed run would
    drift from an uninterrupted one. Each attribute named in
    `seed_generator_names` holds a `keras.random.SeedGenerator`; its state is
    stored beside the layer's weights under `<name>_state`. Files saved
    without it still load (the generator keeps its fresh state).

    Put the mixin first in the bases: `class GAN(SavesSeedState, keras.Model)`.
    """

    seed_generator_names: tuple[str, ...] = ("seed_generator",)

    def _seed_state_keys(self) -> dict[str, str]:
        """{store key: attribute name}, e.g. {"seed_generator_state": "seed_generator"}."""
        return {f"{name}_state": name for name in self.seed_generator_names}

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for key, name in self._seed_state_keys().items():
            store[key] = keras.ops.convert_to_numpy(getattr(self, name).state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        state_keys = self._seed_state_keys()
        for key, name in state_keys.items():
            if key in keys:
                getattr(self, name).state.assign(store[key])
        # Keras's own loader expects exactly the weights it saved.
        super().load_own_variables({k: store[k] for k in keys if k not in state_keys})
