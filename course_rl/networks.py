"""Networks: Keras multilayer perceptrons for training, a NumPy copy for acting.

Both networks of an agent are plain MLPs with ReLU hidden layers. The value network ends in
one linear unit; the policy network in ``prod(action_shape) * K * 3`` linear units reshaped to
``action_shape + (K, 3)`` (see ``course_rl.policy``).

Calling TensorFlow once per environment step costs far more than the arithmetic itself
(about 100 us of dispatch for a few microseconds of multiply-adds), so actors act with
``NumpyMLP``: the same weights copied out after every update, evaluated with two or three
NumPy matrix products for all actors at once.

Taught in notebooks/03_reinforce.ipynb.
"""

from __future__ import annotations

import numpy as np


def mlp(input_shape, hidden_sizes, output_shape, hidden_init="random_normal", name=None):
    """A Keras MLP: Dense+ReLU per hidden size, then a linear layer reshaped to ``output_shape``."""
    from .quiet_tf import keras
    output_shape = tuple(output_shape)
    layers = [keras.Input(shape=tuple(input_shape))]
    for size in hidden_sizes:
        layers.append(keras.layers.Dense(size, activation="relu", kernel_initializer=hidden_init,
                                         bias_initializer=hidden_init if hidden_init == "random_normal" else "zeros"))
    layers.append(keras.layers.Dense(int(np.prod(output_shape))))
    layers.append(keras.layers.Reshape(output_shape))
    return keras.Sequential(layers, name=name)


def policy_network(obs_shape, action_shape, n_modes, hidden_sizes, hidden_init="random_normal"):
    """Policy MLP with output ``action_shape + (n_modes, 3)``: (logit, mean, spread) per mode."""
    return mlp(obs_shape, hidden_sizes, tuple(action_shape) + (n_modes, 3), hidden_init, name="policy")


def value_network(obs_shape, hidden_sizes, hidden_init="random_normal"):
    """Value MLP with one output unit."""
    return mlp(obs_shape, hidden_sizes, (1,), hidden_init, name="value")


class NumpyMLP:
    """A frozen NumPy copy of a Keras MLP built by ``mlp`` (for fast batched acting).

    ``NumpyMLP(model)(x)`` equals ``model(x)`` up to float32 rounding; call ``update(model)``
    after each training step to copy the new weights.
    """

    def __init__(self, model):
        self.output_shape = tuple(model.output_shape[1:])
        self.update(model)

    def update(self, model) -> None:
        weights = [np.asarray(w, dtype=np.float32) for w in model.get_weights()]
        self.layers = list(zip(weights[0::2], weights[1::2]))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, dtype=np.float32)
        for weight, bias in self.layers[:-1]:
            h = h @ weight
            h += bias
            np.maximum(h, 0.0, out=h)
        weight, bias = self.layers[-1]
        out = h @ weight
        out += bias
        return out.reshape((out.shape[0],) + self.output_shape)
