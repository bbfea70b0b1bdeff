"""The vision module: a convolutional variational autoencoder (VAE) of half-cheetah frames.

The original study could not train its agents end to end from pixels in reasonable time, so it
trained a VAE on frames of a randomly moving half-cheetah and then gave the agents the VAE's
8-number latent code of each frame instead of the 17 joint readings. This module rebuilds
that VAE with Keras 3: the model, its loss, its training and its weights files. The pixel task
built on it (the latent observation, batch encoding, the training frames) lives in
:mod:`course_rl.pixels`; ``tasks.make("cheetah_pixels")`` builds it.

Architecture (as the original study's code built it, which in turn follows the VAE of
Ha & Schmidhuber's "World Models", 2018)::

    encoder  96x96x3 -> Conv2D 32, 64, 128, 256 filters (2x2 kernels, stride 2, ReLU)
             -> 6x6x256 -> Flatten (9216) -> Dense(2 * latent): means, then log-variances
    decoder  latent -> Dense(1024, ReLU) -> reshape 1x1x1024
             -> Conv2DTranspose 128 (5x5, stride 2, ReLU) -> 5x5x128
             -> Conv2DTranspose  64 (5x5, stride 2, ReLU) -> 13x13x64
             -> Conv2DTranspose  32 (7x7, stride 2, ReLU) -> 31x31x32
             -> Conv2DTranspose   3 (6x6, stride 3)       -> 96x96x3 logits

What matches World Models: four stride-2 ReLU convolutions of 32/64/128/256 filters, a
Gaussian latent whose means and log-variances come from one linear layer on the flattened
features, a 1024-unit layer reshaped to 1x1x1024 and four transposed convolutions of
128/64/32/3 filters with 5, 5, (6), 6-wide kernels. What differs: frames are 96x96 (World
Models: 64x64); the encoder kernels are 2x2 (World Models: 4x4), so each convolution looks at
non-overlapping 2x2 patches; the latent code has 8 numbers (World Models: 32); the 1024-unit
layer has a ReLU (World Models: linear); the last two transposed convolutions are 7x7 stride 2
and 6x6 stride 3 to reach 96 pixels (World Models: 6x6 stride 2 twice, reaching 64); and the
loss (below) is a Bernoulli likelihood (World Models: squared error with a "KL tolerance").

The loss: one negative evidence lower bound (ELBO), with a Bernoulli decoder
-------------------------------------------------------------------------------------------
Each pixel channel ``x`` in [0, 1] is scored by the decoder's logit ``l`` with the sigmoid
cross-entropy ``BCE(x, l) = -x log s(l) - (1 - x) log(1 - s(l))``, summed over the 27,648
values of a frame; the encoder's Gaussian ``q(z|x) = N(mu, diag(exp(log_var)))`` is compared
with the standard-normal prior by the closed-form KL divergence
``KL = 0.5 * sum(exp(log_var) + mu^2 - 1 - log_var)``. The loss is their sum, averaged over
the frames of a minibatch, with the decoder fed one reparameterised sample
``z = mu + exp(log_var / 2) * eps`` per frame.

Why this one. The original study's code computed World Models' squared-error-plus-KL loss
and then overwrote it with a single-sample Bernoulli ELBO, so the Bernoulli ELBO is what its
VAE was actually trained with (defect 4 of the original; its prose describes the other).
We keep the loss that was really used, so the vision module is the study's, and state it
once. It is a genuine (negative) log-likelihood bound with the KL term at its principled
weight of 1, needs no tuning constant (squared error is a Gaussian likelihood with an
arbitrary fixed variance that silently sets the KL's weight, which World Models then patched
with a KL floor), and the logits keep it numerically stable. One change: the KL term is
computed in closed form instead of from the same single sample (same expectation, no
sampling noise). Caveat for the chapter: pixel values are not coin flips, so the Bernoulli
likelihood is a convenient surrogate; its cross-entropy cannot reach zero for grey pixels.
For readable curves the reported reconstruction term subtracts that floor, the entropy
``H(x)`` of the target frame (a constant: gradients are unchanged)::

    reconstruction = sum(BCE(x, l)) - sum(H(x))   (>= 0, 0 = perfect reconstruction)
    kl             = sum over latent units of the closed-form KL
    loss           = reconstruction + kl          (= negative ELBO - sum(H(x)))

and the mean squared error per pixel (0-1 scale) is reported alongside, for intuition.

Speed. Acting needs only the encoder. :class:`FrameEncoder` is a frozen copy of it with one
compiled call for a whole batch of frames, so the pixel task encodes the frames of all its
actors together (one call per step, not one per actor).

Frames for training come from :func:`course_rl.pixels.collect_frames`.

The trained VAE ships with the package (``course_rl/data/vae/``): the encoder at full
precision and the decoder in float16 (half the size; the images it draws are
indistinguishable), plus the training history. See :func:`load_shipped`.

Taught in notebooks/06_vision.ipynb.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "FORMAT",
    "IMAGE_SHAPE",
    "LATENT_DIM",
    "FrameEncoder",
    "VAE",
    "build_decoder",
    "build_encoder",
    "cosine_similarity",
    "latent_sample",
    "load_history",
    "load_shipped",
    "shipped_paths",
]

FORMAT = "course_rl.vae/1"
IMAGE_SHAPE = (96, 96, 3)
LATENT_DIM = 8
ENCODER_FILTERS = (32, 64, 128, 256)
# (filters, kernel, stride, activation) of the decoder's transposed convolutions
DECODER_LAYERS = ((128, 5, 2, "relu"), (64, 5, 2, "relu"), (32, 7, 2, "relu"), (3, 6, 3, None))
DECODER_UNITS = 1024
PARTS = ("encoder", "decoder")

_DATA = resources.files("course_rl") / "data" / "vae"
SHIPPED_ENCODER = "cheetah_encoder.npz"
SHIPPED_DECODER = "cheetah_decoder.npz"
SHIPPED_HISTORY = "cheetah_history.npz"


# ---- shapes of the architecture (no TensorFlow needed) -------------------------------------------

def encoder_shapes(latent_dim: int = LATENT_DIM) -> list[tuple[int, ...]]:
    """Shapes of the encoder's weight arrays, in Keras order (kernel, bias per layer)."""
    shapes, channels = [], IMAGE_SHAPE[2]
    for filters in ENCODER_FILTERS:
        shapes += [(2, 2, channels, filters), (filters,)]
        channels = filters
    side = IMAGE_SHAPE[0] // 2 ** len(ENCODER_FILTERS)
    shapes += [(side * side * channels, 2 * latent_dim), (2 * latent_dim,)]
    return shapes


def decoder_shapes(latent_dim: int = LATENT_DIM) -> list[tuple[int, ...]]:
    """Shapes of the decoder's weight arrays, in Keras order (kernel, bias per layer)."""
    shapes = [(latent_dim, DECODER_UNITS), (DECODER_UNITS,)]
    channels = DECODER_UNITS
    for filters, kernel, _, _ in DECODER_LAYERS:
        shapes += [(kernel, kernel, filters, channels), (filters,)]  # Conv2DTranspose layout
        channels = filters
    return shapes


def _check_latent_dim(latent_dim) -> int:
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) \
            or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    return int(latent_dim)


def _as_unit_float(frames) -> np.ndarray:
    """Frames as float32 in [0, 1], with a batch axis: uint8 is divided by 255."""
    frames = np.asarray(frames)
    if frames.shape[-3:] != IMAGE_SHAPE:
        raise ValueError(f"frames must have shape (..., {', '.join(map(str, IMAGE_SHAPE))}), "
                         f"got {frames.shape}")
    if frames.ndim == 3:
        frames = frames[None]
    if frames.dtype == np.uint8:
        return frames.astype(np.float32) * np.float32(1 / 255)
    return frames.astype(np.float32, copy=False)


def latent_sample(mean: np.ndarray, log_var: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The reparameterised sample ``mean + exp(log_var / 2) * noise`` (float32)."""
    return (mean + np.exp(0.5 * log_var) * np.asarray(noise, np.float32)).astype(np.float32)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the cosine similarity of ``a[i]`` and ``b[i]``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    num = (a * b).sum(-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return float(np.mean(num / np.maximum(den, 1e-12)))


# ---- weights files --------------------------------------------------------------------------------

def _read_weights(path, latent_dim: int | None = None) -> tuple[int, dict[str, list[np.ndarray]]]:
    """Read a weights file; returns ``(latent_dim, {part: arrays})`` after checking shapes.

    Raises a ValueError naming the file if it is missing, unreadable, not a VAE weights file,
    or made for another latent size or architecture.
    """
    from .files import ResultsError, load_npz

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"VAE weights file {path} does not exist")
    try:
        data = load_npz(path)
    except ResultsError as err:
        raise ValueError(f"VAE weights file {path} is unreadable: {err}") from None
    if str(data.get("format", "")) != FORMAT:
        raise ValueError(f"{path} is not a course_rl VAE weights file "
                         f"(format {str(data.get('format', ''))!r}, expected {FORMAT!r})")
    file_latent = int(data["latent_dim"])
    if latent_dim is not None and file_latent != latent_dim:
        raise ValueError(f"VAE weights file {path} holds a VAE with latent size {file_latent}, "
                         f"but latent size {latent_dim} was asked for")
    if tuple(int(s) for s in data["image_shape"]) != IMAGE_SHAPE:
        raise ValueError(f"VAE weights file {path} is for images of shape "
                         f"{tuple(data['image_shape'])}, not {IMAGE_SHAPE}")
    parts = {}
    for part, expected in (("encoder", encoder_shapes(file_latent)),
                           ("decoder", decoder_shapes(file_latent))):
        keys = sorted((k for k in data if k.startswith(part + "/")),
                      key=lambda k: int(k.split("/")[1]))
        if not keys:
            continue
        arrays = [data[k] for k in keys]
        shapes = [tuple(a.shape) for a in arrays]
        if shapes != [tuple(s) for s in expected]:
            raise ValueError(f"VAE weights file {path}: the {part} arrays have shapes {shapes}, "
                             f"but the architecture with latent size {file_latent} needs "
                             f"{expected}")
        parts[part] = [a.astype(np.float32) for a in arrays]
    if not parts:
        raise ValueError(f"VAE weights file {path} holds neither encoder nor decoder weights")
    return file_latent, parts


def _write_weights(path, latent_dim: int, parts: dict[str, list[np.ndarray]],
                   dtypes: dict[str, str], meta: str = "") -> None:
    from .files import save_npz

    arrays = {"format": FORMAT, "latent_dim": latent_dim, "image_shape": np.array(IMAGE_SHAPE),
              "meta": meta}
    for part, weights in parts.items():
        for i, w in enumerate(weights):
            arrays[f"{part}/{i}"] = np.asarray(w, dtype=dtypes.get(part, "float32"))
    save_npz(path, arrays)


# ---- the networks ---------------------------------------------------------------------------------

def _initializers(seed: int):
    """Glorot-uniform initializers with distinct seeds (Keras' default, without global state)."""
    from .quiet_tf import keras
    return iter(keras.initializers.GlorotUniform(seed=int(seed) * 100 + i) for i in range(100))


def build_encoder(latent_dim: int = LATENT_DIM, seed: int = 0):
    """The encoder: float frames in [0, 1] -> ``2 * latent_dim`` numbers (means, log-variances)."""
    from .quiet_tf import keras
    init = _initializers(seed)
    layers = [keras.Input(IMAGE_SHAPE)]
    for filters in ENCODER_FILTERS:
        layers.append(keras.layers.Conv2D(filters, 2, strides=2, activation="relu",
                                          kernel_initializer=next(init)))
    layers += [keras.layers.Flatten(),
               keras.layers.Dense(2 * latent_dim, kernel_initializer=next(init))]
    return keras.Sequential(layers, name="encoder")


def build_decoder(latent_dim: int = LATENT_DIM, seed: int = 0):
    """The decoder: latent codes -> 96x96x3 logits (apply a sigmoid for pixel values)."""
    from .quiet_tf import keras
    init = _initializers(seed + 1)
    layers = [keras.Input((latent_dim,)),
              keras.layers.Dense(DECODER_UNITS, activation="relu", kernel_initializer=next(init)),
              keras.layers.Reshape((1, 1, DECODER_UNITS))]
    for filters, kernel, stride, activation in DECODER_LAYERS:
        layers.append(keras.layers.Conv2DTranspose(
            filters, kernel, strides=stride, padding="valid", activation=activation,
            kernel_initializer=next(init)))
    return keras.Sequential(layers, name="decoder")


class FrameEncoder:
    """A frozen copy of a trained encoder, for acting: ``encoder(frames) -> (mean, log_var)``.

    Takes a batch of uint8 frames ``(n, 96, 96, 3)`` and returns two ``(n, latent_dim)``
    float32 arrays in one compiled TensorFlow call, whatever ``n`` is: the pixel task encodes
    the frames of all its actors at once with it (see :mod:`course_rl.pixels`).

    (A NumPy version -- each 2x2 stride-2 convolution is one matrix product over
    non-overlapping patches -- is as fast on an idle machine, but multithreaded BLAS slows it
    down tenfold when the cores are busy with other runs; TensorFlow's kernels do not.)

    Parameters
    ----------
    weights : list of arrays
        The encoder's weights in Keras order (``VAE.encoder.get_weights()``).
    """

    def __init__(self, weights):
        from .quiet_tf import tf

        weights = [np.asarray(w, np.float32) for w in weights]
        latent = weights[-1].shape[0] // 2 if weights else 0
        expected = encoder_shapes(max(latent, 1))
        if [tuple(w.shape) for w in weights] != [tuple(s) for s in expected]:
            raise ValueError(f"encoder weights have shapes {[w.shape for w in weights]}, "
                             f"expected {expected}")
        self.latent_dim = latent
        self.model = build_encoder(latent)
        self.model.set_weights(weights)
        self._fn = tf.function(
            lambda x: self.model(tf.cast(x, tf.float32) / 255.0, training=False),
            input_signature=[tf.TensorSpec((None,) + IMAGE_SHAPE, tf.uint8)])

    def __call__(self, frames) -> tuple[np.ndarray, np.ndarray]:
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.shape[-3:] != IMAGE_SHAPE:
            raise ValueError(f"frames must be uint8 of shape (n, 96, 96, 3), got "
                             f"{frames.dtype} {frames.shape}")
        out = self._fn(frames.reshape((-1,) + IMAGE_SHAPE)).numpy()
        return out[:, :self.latent_dim], out[:, self.latent_dim:]

    def mean(self, frames) -> np.ndarray:
        """Latent means of a batch of frames."""
        return self(frames)[0]

    def __deepcopy__(self, memo) -> "FrameEncoder":
        return self  # frozen, so copies (e.g. of an environment's spec) can share it

    @classmethod
    def load(cls, path) -> "FrameEncoder":
        """The encoder of a weights file (a ValueError names a file without one)."""
        _, parts = _read_weights(path)
        if "encoder" not in parts:
            raise ValueError(f"VAE weights file {path} holds no encoder weights")
        return cls(parts["encoder"])


def shipped_paths() -> dict[str, Path]:
    """Paths of the shipped files: ``encoder``, ``decoder`` (float16) and ``history``."""
    folder = Path(str(_DATA))
    return {"encoder": folder / SHIPPED_ENCODER, "decoder": folder / SHIPPED_DECODER,
            "history": folder / SHIPPED_HISTORY}


def load_history(path=None) -> dict:
    """The shipped VAE's training history (see :meth:`VAE.train`) and how it was made."""
    from .files import load_npz

    data = load_npz(path or shipped_paths()["history"])
    info = json.loads(str(data.pop("info_json"))) if "info_json" in data else {}
    return {**data, "info": info}


# ---- the Keras model ------------------------------------------------------------------------------

class VAE:
    """The study's convolutional VAE (Keras 3); see the module docstring for the architecture.

    Parameters
    ----------
    latent_dim : int
        Size of the latent code (the study: 8).
    seed : int
        Seeds the weight initialisation (Glorot-uniform kernels, zero biases, as Keras'
        defaults) without touching Keras' global random state.
    learning_rate : float
        Adam's learning rate (the study: 5e-4).

    Attributes
    ----------
    encoder, decoder : keras.Model
        ``encoder(x)`` maps float frames in [0, 1] to ``2 * latent_dim`` numbers (means, then
        log-variances); ``decoder(z)`` maps codes to 96x96x3 logits.
    """

    def __init__(self, latent_dim: int = LATENT_DIM, seed: int = 0, learning_rate: float = 5e-4):
        from .quiet_tf import keras

        self.latent_dim = _check_latent_dim(latent_dim)
        self.learning_rate = float(learning_rate)
        self.encoder = build_encoder(self.latent_dim, seed)
        self.decoder = build_decoder(self.latent_dim, seed)
        assert self.decoder.output_shape[1:] == IMAGE_SHAPE, self.decoder.output_shape
        self.optimizer = keras.optimizers.Adam(self.learning_rate)
        self.optimizer.build(self._variables())
        self._moments_fn = None
        self._decode_fn = None
        self._train_steps = {}

    def _variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    # ---- inference --------------------------------------------------------------------------
    def _moments(self, frames, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        from .quiet_tf import tf

        if self._moments_fn is None:
            self._moments_fn = tf.function(
                lambda x: self.encoder(x, training=False),
                input_signature=[tf.TensorSpec((None,) + IMAGE_SHAPE, tf.float32)])
        x = _as_unit_float(frames)
        out = [self._moments_fn(tf.constant(x[i:i + batch_size])).numpy()
               for i in range(0, len(x), batch_size)]
        out = np.concatenate(out) if out else np.zeros((0, 2 * self.latent_dim), np.float32)
        return out[:, :self.latent_dim], out[:, self.latent_dim:]

    def encode(self, frames) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, log_var)`` of ``q(z | frame)`` for a batch of frames (uint8 or [0, 1])."""
        return self._moments(frames)

    def encode_mean(self, frames) -> np.ndarray:
        """Latent means of a batch of frames, ``(n, latent_dim)`` float32."""
        return self._moments(frames)[0]

    def sample_latent(self, frames, rng=None) -> np.ndarray:
        """One reparameterised sample ``mean + exp(log_var / 2) * eps`` per frame.

        ``rng``: a ``numpy.random.Generator`` or a seed (``None``: fresh entropy).
        """
        mean, log_var = self._moments(frames)
        rng = np.random.default_rng(rng)
        return latent_sample(mean, log_var, rng.standard_normal(mean.shape))

    def decode_logits(self, z, batch_size: int = 256) -> np.ndarray:
        """Decoder logits of latent codes, ``(n, 96, 96, 3)`` float32."""
        from .quiet_tf import tf

        if self._decode_fn is None:
            self._decode_fn = tf.function(
                lambda z: self.decoder(z, training=False),
                input_signature=[tf.TensorSpec((None, self.latent_dim), tf.float32)])
        z = np.asarray(z, np.float32).reshape(-1, self.latent_dim)
        out = [self._decode_fn(tf.constant(z[i:i + batch_size])).numpy()
               for i in range(0, len(z), batch_size)]
        return np.concatenate(out) if out else np.zeros((0,) + IMAGE_SHAPE, np.float32)

    def decode(self, z) -> np.ndarray:
        """Images drawn by the decoder for latent codes: ``(n, 96, 96, 3)`` uint8."""
        probs = 1.0 / (1.0 + np.exp(-self.decode_logits(z)))
        return np.round(probs * 255).astype(np.uint8)

    def reconstruct(self, frames) -> np.ndarray:
        """Decoded latent means of frames (what the VAE "sees"), uint8."""
        return self.decode(self.encode_mean(frames))

    def frame_encoder(self) -> FrameEncoder:
        """A copy of the current encoder for acting (a snapshot: later training leaves it be)."""
        return FrameEncoder(self.encoder.get_weights())

    # ---- the loss -------------------------------------------------------------------------
    @staticmethod
    def loss_terms(x, logits, mean, log_var):
        """Per-frame ``(reconstruction, kl, mse)`` tensors of the loss in the module docstring.

        ``x``: target frames in [0, 1]; ``logits``: decoder output; ``mean``, ``log_var``: the
        encoder's Gaussian.
        """
        from .quiet_tf import tf

        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        # entropy of the targets: the cross-entropy's floor (a constant, no gradient)
        eps = 1e-7
        xc = tf.clip_by_value(x, eps, 1 - eps)
        entropy = -(xc * tf.math.log(xc) + (1 - xc) * tf.math.log(1 - xc))
        reconstruction = tf.reduce_sum(bce - entropy, axis=[1, 2, 3])
        kl = 0.5 * tf.reduce_sum(tf.exp(log_var) + tf.square(mean) - 1.0 - log_var, axis=1)
        mse = tf.reduce_mean(tf.square(tf.sigmoid(logits) - x), axis=[1, 2, 3])
        return reconstruction, kl, mse

    def _train_step(self, frames, noise, probe):
        from .quiet_tf import tf

        x = tf.cast(frames, tf.float32) / 255.0
        with tf.GradientTape() as tape:
            moments = self.encoder(x, training=True)
            mean, log_var = moments[:, :self.latent_dim], moments[:, self.latent_dim:]
            z = mean + tf.exp(0.5 * log_var) * noise
            logits = self.decoder(z, training=True)
            reconstruction, kl, mse = self.loss_terms(x, logits, mean, log_var)
            loss = tf.reduce_mean(reconstruction + kl)
        variables = self._variables()
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        probe_mean = self.encoder(tf.cast(probe, tf.float32) / 255.0,
                                  training=False)[:, :self.latent_dim]
        return (loss, tf.reduce_mean(reconstruction), tf.reduce_mean(kl), tf.reduce_mean(mse),
                probe_mean)

    def evaluate(self, frames, seed: int = 0, batch_size: int = 256) -> dict[str, float]:
        """Mean loss terms over ``frames`` (no update; one latent sample per frame)."""
        from .quiet_tf import tf

        rng = np.random.default_rng(seed)
        totals = np.zeros(4)
        frames = np.asarray(frames)
        for i in range(0, len(frames), batch_size):
            x = _as_unit_float(frames[i:i + batch_size])
            mean, log_var = self._moments(x)
            z = latent_sample(mean, log_var, rng.standard_normal(mean.shape))
            terms = self.loss_terms(tf.constant(x), tf.constant(self.decode_logits(z)),
                                    tf.constant(mean), tf.constant(log_var))
            r, k, m = (t.numpy().astype(np.float64) for t in terms)
            totals += [np.sum(r + k), np.sum(r), np.sum(k), np.sum(m)]
        totals /= max(len(frames), 1)
        return dict(zip(("loss", "reconstruction", "kl", "mse"), totals.tolist()))

    # ---- training -------------------------------------------------------------------------
    def train(self, frames, epochs: int = 1, batch_size: int = 64, seed: int = 0, probe=None,
              reference=None, progress: bool = True, max_steps: int | None = None,
              jit_compile: bool = True) -> dict[str, np.ndarray]:
        """Train on uint8 frames; returns the history of every step.

        Each epoch shuffles the frames and makes full minibatches of ``batch_size`` (a last
        incomplete one is left out, so the compiled step keeps one shape). ``probe`` (default:
        the first 10 frames) is a fixed set of frames whose latent means are compared, after
        every step, with ``reference`` (default: their means before this call; pass the
        earlier reference to continue the curve of an earlier call). ``max_steps`` stops early.
        ``jit_compile``: compile the step with XLA (about 15 s once, then 2.5x faster steps on
        a CPU; turn it off for a handful of steps).

        Returns a dict of float arrays with one entry per step: ``loss``, ``reconstruction``,
        ``kl``, ``mse`` (minibatch means, see the module docstring), ``probe_cosine`` (mean
        cosine similarity of the probe frames' latent means to their initial ones), plus
        ``epoch`` (the epoch of each step) and ``seconds`` (wall time of the call).
        """
        from .quiet_tf import tf
        from tqdm.auto import tqdm

        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"frames must be a uint8 array of shape (n, 96, 96, 3), got "
                             f"{frames.dtype} {frames.shape}")
        if len(frames) < batch_size:
            raise ValueError(f"need at least batch_size={batch_size} frames, got {len(frames)}")
        probe = frames[:10] if probe is None else np.asarray(probe, np.uint8)
        key = (batch_size, len(probe), bool(jit_compile))
        step = self._train_steps.get(key)
        if step is None:
            step = tf.function(self._train_step, jit_compile=bool(jit_compile), input_signature=[
                tf.TensorSpec((batch_size,) + IMAGE_SHAPE, tf.uint8),
                tf.TensorSpec((batch_size, self.latent_dim), tf.float32),
                tf.TensorSpec((len(probe),) + IMAGE_SHAPE, tf.uint8)])
            self._train_steps[key] = step
        rng = np.random.default_rng(seed)
        first = self.encode_mean(probe) if reference is None else np.asarray(reference)
        per_epoch = len(frames) // batch_size
        total = per_epoch * epochs if max_steps is None else min(per_epoch * epochs, max_steps)
        keys = ("loss", "reconstruction", "kl", "mse")
        history = {k: [] for k in keys + ("probe_cosine", "epoch")}
        probe_t = tf.constant(probe)
        started = time.perf_counter()
        with tqdm(total=total, disable=not progress, desc="VAE", unit="step") as bar:
            done = 0
            for epoch in range(epochs):
                order = rng.permutation(len(frames))[:per_epoch * batch_size]
                for b in range(per_epoch):
                    if done >= total:
                        break
                    batch = frames[np.sort(order[b * batch_size:(b + 1) * batch_size])]
                    noise = rng.standard_normal((batch_size, self.latent_dim)).astype(np.float32)
                    *terms, probe_mean = step(tf.constant(batch), tf.constant(noise), probe_t)
                    for k, v in zip(keys, terms):
                        history[k].append(float(v))
                    history["probe_cosine"].append(cosine_similarity(first, probe_mean.numpy()))
                    history["epoch"].append(epoch)
                    done += 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{history['loss'][-1]:.0f}",
                                    kl=f"{history['kl'][-1]:.1f}")
        out = {k: np.asarray(v, np.float64) for k, v in history.items()}
        out["epoch"] = out["epoch"].astype(np.int64)
        out["seconds"] = np.asarray(time.perf_counter() - started)
        return out

    # ---- files ----------------------------------------------------------------------------
    def save(self, path, parts=PARTS, decoder_dtype: str = "float32", meta: str = "") -> None:
        """Write the weights of ``parts`` ("encoder", "decoder") to an ``.npz`` file, atomically.

        ``decoder_dtype="float16"`` halves the decoder's size (it is 90% of the weights); the
        encoder is always stored at full precision. ``meta``: free text kept in the file.
        """
        parts = tuple(parts)
        unknown = [p for p in parts if p not in PARTS]
        if unknown or not parts:
            raise ValueError(f"parts must be a non-empty subset of {PARTS}, got {parts!r}")
        if decoder_dtype not in ("float32", "float16"):
            raise ValueError(f"decoder_dtype must be 'float32' or 'float16', got {decoder_dtype!r}")
        models = {"encoder": self.encoder, "decoder": self.decoder}
        _write_weights(path, self.latent_dim, {p: models[p].get_weights() for p in parts},
                       {"decoder": decoder_dtype}, meta)

    def load_weights(self, path) -> tuple[str, ...]:
        """Load the parts a weights file holds into this VAE; returns their names.

        Raises a ValueError naming the file if it is missing or does not fit this VAE (another
        latent size or architecture).
        """
        _, parts = _read_weights(path, self.latent_dim)
        models = {"encoder": self.encoder, "decoder": self.decoder}
        for part, weights in parts.items():
            models[part].set_weights(weights)
        return tuple(parts)

    @classmethod
    def load(cls, *paths, latent_dim: int | None = None) -> "VAE":
        """A VAE built with the latent size of the first file, with every file's weights loaded.

        E.g. ``VAE.load("enc.npz", "dec.npz")``. ``latent_dim``, if given, must match the file.
        """
        if not paths:
            raise ValueError("VAE.load needs at least one weights file")
        file_latent, _ = _read_weights(paths[0], latent_dim)
        vae = cls(latent_dim=file_latent)
        for path in paths:
            vae.load_weights(path)
        return vae


def load_shipped(decoder: bool = True) -> VAE:
    """The VAE trained for the course (encoder, and the float16-stored decoder if asked).

    It was trained briefly (about 10 minutes on one CPU core: 16,000 frames, 932 steps of 64;
    see ``load_history()["info"]``): its reconstructions get the camera's view of the
    checkered ground right but show the cheetah as a blurred shape, so its 8 numbers say more
    about where the body is than about how its legs are bent. ``scripts/train_vae.py
    --continue`` trains it further.
    """
    paths = shipped_paths()
    return VAE.load(paths["encoder"], *([paths["decoder"]] if decoder else []))
