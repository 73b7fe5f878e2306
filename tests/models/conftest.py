"""Fixtures shared by the two-player model tests."""

import numpy as np
import pytest


def _weights(model):
    return [np.array(v) for v in model.trainable_variables]


@pytest.fixture
def snapshots_after_each_update(monkeypatch):
    """`record(module, model)`: from then on, every `minimize` call of `module`
    appends (discriminator weights, generator weights) to the returned list.

    Compile the model with `run_eagerly=True`, so the weights between the two
    updates of one step can be read.
    """

    def record(module, model):
        snapshots = []
        original = module.minimize

        def recording_minimize(optimizer, loss_fn, variables):
            result = original(optimizer, loss_fn, variables)
            snapshots.append((_weights(model.discriminator), _weights(model.generator)))
            return result

        monkeypatch.setattr(module, "minimize", recording_minimize)
        return snapshots

    return record
