"""Exercises of chapter 6 (notebooks/06_vision.ipynb): frames, the code sample, the VAE's loss.

Two of the original study's defects live here: frames kept as float64 (defect 6), and the VAE
loss the text describes, computed and then overwritten by another (defect 4).
"""

from __future__ import annotations

import numpy as np

from .core import Case, Exercise, Variant, register


# ------------------------------------------------------------------------------------------------
# 6.1 Frames for the VAE
# ------------------------------------------------------------------------------------------------

def frames_to_unit(frames):
    """Frames as the VAE trains on them: float32 values in [0, 1].

    frames: a uint8 array of any shape (..., height, width, 3), values 0-255. Returns a float32
    array of the same shape, 0 -> 0.0 and 255 -> 1.0.
    """
    return np.asarray(frames).astype(np.float32) / np.float32(255)


def _frame_cases(rng):
    def frames(shape):
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return [Case("a batch of small random frames", {"frames": frames((4, 8, 8, 3))}),
            Case("one full 96x96 frame", {"frames": frames((96, 96, 3))}),
            Case("a batch of 2 full frames", {"frames": frames((2, 96, 96, 3))}),
            Case("black and white pixels", {"frames": np.array([[[[0, 255, 128]]]], np.uint8)}, edge=True)]


register(Exercise(
    id="frames_to_unit", chapter=6, title="Frames for the VAE",
    question=(
        "The dataset keeps its frames as uint8, one byte per value. Convert a batch to what the "
        "VAE trains on: float32 values in $[0, 1]$."),
    reference=frames_to_unit, cases=_frame_cases, dtype="float32",
    hint="convert to float32 first, then divide by 255.",
    fact=("A 96x96 RGB frame is 27,648 bytes as uint8, 4 times that as float32 and 8 times as "
          "float64: the shipped VAE's 16,000 frames take 0.44 GB as uint8 and 3.5 GB as float64."),
    variants=(
        Variant("float64", lambda frames: np.asarray(frames) / 255.0,
                "Right values, but float64: 8 bytes per value. The original kept its frames as "
                "float64 (its notebook warns of 8 GB, defect 6); the course stores uint8 and "
                "makes a float32 minibatch only when the VAE trains on it.",
                "frames.astype(np.float32) / 255 (dividing a uint8 array by the float 255.0 "
                "gives float64).", kind="dtype", defect="defect 6: images stored as float64",
                check_dtype=True),
        Variant("divided_by_256", lambda frames: np.asarray(frames).astype(np.float32) / np.float32(256),
                "You divided by 256: a white pixel, 255, becomes 0.996 instead of 1.",
                "the largest uint8 value is 255.", kind="off-by-one"),
        Variant("fractions_truncated", lambda frames: (np.asarray(frames) // 255).astype(np.float32),
                "Your values are only 0 and 1: integer division (//), or a cast back to uint8 "
                "after dividing, truncates every fraction.",
                "convert to float32 before dividing, and do not convert back.", kind="integer arithmetic"),
        Variant("not_scaled", lambda frames: np.asarray(frames).astype(np.float32),
                "You converted to float32 but did not scale: your values run from 0 to 255, and "
                "the Bernoulli likelihood needs pixel values in [0, 1].",
                "divide by 255.", kind="missing scale"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 6.2 The reparameterised code sample
# ------------------------------------------------------------------------------------------------

def reparameterize(mean, log_var, noise):
    """A sample of the VAE's code, z = mu + sigma * epsilon, from the encoder's outputs.

    mean: mu, shape (n, L); log_var: ln sigma^2, shape (n, L); noise: epsilon, standard normal
    draws of the same shape. Returns z, shape (n, L).
    """
    return mean + np.exp(0.5 * log_var) * noise    # sigma = exp(ln sigma^2 / 2)


def _code_cases(rng):
    def case(n, label, log_var=None, edge=False):
        return Case(label, {"mean": rng.normal(size=(n, 8)),
                            "log_var": rng.normal(-4, 1.5, (n, 8)) if log_var is None else log_var,
                            "noise": rng.normal(size=(n, 8))}, edge=edge)
    return ([case(int(rng.integers(2, 6)), "random encoder outputs") for _ in range(3)]
            + [case(2, "log_var = 0: sigma = 1", log_var=np.zeros((2, 8)), edge=True),
               case(1, "one frame, positive log-variances", log_var=rng.uniform(0.5, 2, (1, 8)), edge=True)])


register(Exercise(
    id="reparameterize", chapter=6, title="The reparameterised code sample",
    question=(
        "The encoder outputs the mean and the log-variance of each code variable; the pixel "
        "task feeds the agent one random sample of the code per frame. Write that sample from "
        "given standard normal noise, as `vae.latent_sample` does."),
    reference=reparameterize, cases=_code_cases,
    hint="sigma = exp(log_var / 2); z = mean + sigma * noise.",
    fact=("Writing z = mu + sigma * epsilon moves the randomness into epsilon, so the gradients "
          "of the loss flow through mu and sigma: the reparameterisation trick."),
    variants=(
        Variant("variance_as_scale", lambda mean, log_var, noise: mean + np.exp(log_var) * noise,
                "You scaled the noise by the variance sigma^2 = exp(log_var): the standard "
                "deviation is exp(log_var / 2).",
                "np.exp(0.5 * log_var).", kind="variance for std"),
        Variant("log_var_as_sigma", lambda mean, log_var, noise: mean + log_var * noise,
                "You used the log-variance itself as the standard deviation: it is a logarithm, "
                "often negative.",
                "sigma = exp(log_var / 2).", kind="missing exp"),
        Variant("square_root_of_log_var", lambda mean, log_var, noise: mean + np.sqrt(log_var) * noise,
                "You took the square root of the log-variance: sqrt undoes a square, not a "
                "logarithm, and a negative log-variance gives nan.",
                "sigma = exp(log_var / 2).", kind="wrong function"),
        Variant("the_mean_only", lambda mean, log_var, noise: np.array(mean, copy=True),
                "You returned the mean: that is the code's most likely value, not a sample of it.",
                "add sigma * noise.", kind="missing noise"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 6.3 The VAE's loss: the Bernoulli ELBO with the closed-form KL
# ------------------------------------------------------------------------------------------------

def negative_elbo(frames, logits, mean, log_var):
    """The VAE's loss per frame: the negative ELBO with a Bernoulli likelihood.

    frames: pixel values in [0, 1], shape (n, height, width, 3); logits: the decoder's output
    for them, same shape; mean, log_var: the encoder's Gaussian, shape (n, L). Returns shape (n,):
    the sigmoid cross-entropy of frames and logits summed over the pixels, plus the closed-form
    KL(N(mean, exp(log_var)) || N(0, 1)) summed over the code. Finite for any logits.
    """
    frames, logits = np.asarray(frames, dtype=np.float64), np.asarray(logits, dtype=np.float64)
    # -[x ln sigmoid(l) + (1 - x) ln(1 - sigmoid(l))], written so that no exp can overflow
    cross_entropy = np.maximum(logits, 0) - logits * frames + np.log1p(np.exp(-np.abs(logits)))
    reconstruction = cross_entropy.sum(axis=(1, 2, 3))
    kl = 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=1)
    return reconstruction + kl


def _elbo_cases(rng):
    def case(n, label, scale=2.0, edge=False, tags=frozenset()):
        return Case(label, {"frames": rng.random((n, 6, 6, 3)), "logits": scale * rng.normal(size=(n, 6, 6, 3)),
                            "mean": rng.normal(size=(n, 8)), "log_var": rng.normal(-2, 1, (n, 8))},
                    edge=edge, tags=tags)
    cases = [case(int(rng.integers(2, 5)), "random small frames and codes") for _ in range(3)]
    cases += [case(1, "one frame", edge=True),
              case(2, "confident logits (about +/-40): a decoder that has learned", scale=40.0,
                   edge=True, tags=frozenset({"confident"}))]
    black = case(2, "pure black and white pixels", edge=True)
    black.inputs["frames"][:] = (rng.random((2, 6, 6, 3)) > 0.5)
    cases.append(black)
    return cases


def _elbo(frames, logits, mean, log_var, kl_sign=1.0, reduce="sum", per_frame=True, kl_of_log_std=False,
          with_kl=True):
    frames, logits = np.asarray(frames, np.float64), np.asarray(logits, np.float64)
    cross_entropy = np.maximum(logits, 0) - logits * frames + np.log1p(np.exp(-np.abs(logits)))
    reconstruction = getattr(cross_entropy, reduce)(axis=(1, 2, 3))
    if kl_of_log_std:   # log_var read as ln sigma
        kl = 0.5 * np.sum(np.exp(2 * log_var) + mean**2 - 1.0 - 2 * log_var, axis=1)
    else:
        kl = 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=1)
    loss = reconstruction + (kl_sign * kl if with_kl else 0.0)
    return loss if per_frame else loss.sum()


def _described_loss(frames, logits, mean, log_var):
    squared_error = np.sum((np.asarray(logits) - frames) ** 2, axis=(1, 2, 3))
    return squared_error + 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=1)


def _cross_entropy_of_probabilities(frames, logits, mean, log_var):
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    cross_entropy = -(frames * np.log(p) + (1 - frames) * np.log(1 - p))
    return cross_entropy.sum(axis=(1, 2, 3)) + 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=1)


register(Exercise(
    id="negative_elbo", chapter=6, title="The VAE's loss: the Bernoulli ELBO with the closed-form KL",
    question=(
        "Write the loss the VAE minimises (the loss the study really trained with): per frame, "
        "the Bernoulli reconstruction term, the sigmoid cross-entropy between the pixel values "
        "and the decoder's logits summed over the pixels, plus the KL term in closed form. "
        "(`VAE.loss_terms` reports the reconstruction minus the pixels' own entropy, a "
        "constant; here it is the plain cross-entropy.)"),
    reference=negative_elbo, cases=_elbo_cases, rtol=1e-4, atol=1e-5,
    hint="cross-entropy = max(l, 0) - l x + ln(1 + exp(-|l|)) per pixel (what "
         "tf.nn.sigmoid_cross_entropy_with_logits computes), summed over axes 1-3; "
         "KL = 0.5 * sum(exp(log_var) + mean^2 - 1 - log_var) over the code.",
    fact=("The shipped VAE spends about 22 nats of KL per frame, the information its code "
          "carries, to bring the reconstruction term to about 180 nats above the pixels' own "
          "entropy (section 4)."),
    variants=(
        Variant("the_described_loss", _described_loss,
                "You computed the loss the study's text describes: squared error plus KL, and "
                "against the logits rather than sigmoid(logits). The original code computed "
                "exactly that and then overwrote it with the Bernoulli ELBO, the loss it really "
                "trained with (defect 4).",
                "the reconstruction term is the sigmoid cross-entropy of the pixel values and "
                "the logits.", kind="study defect",
                defect="defect 4: the VAE loss described was computed, then overwritten"),
        Variant("kl_left_out", lambda frames, logits, mean, log_var: _elbo(frames, logits, mean, log_var, with_kl=False),
                "Your loss has no KL term (computed and then overwritten, like the original's "
                "loss?): without it the code is free to carry any amount of information, and "
                "the VAE is an autoencoder.",
                "add 0.5 * sum(exp(log_var) + mean**2 - 1 - log_var) per frame.", kind="missing term"),
        Variant("naive_cross_entropy", _cross_entropy_of_probabilities,
                "Your loss is inf or nan for confident logits: sigmoid(40) rounds to exactly 1, "
                "and ln(1 - 1) = -inf.",
                "compute the cross-entropy from the logits: max(l, 0) - l x + "
                "log1p(exp(-|l|)).", kind="overflow", fails_on="confident"),
        Variant("kl_subtracted", lambda frames, logits, mean, log_var: _elbo(frames, logits, mean, log_var, kl_sign=-1.0),
                "Your KL term has the wrong sign: it is a cost (the nats the code spends), it is "
                ">= 0, and the loss adds it.",
                "reconstruction + KL.", kind="sign"),
        Variant("log_var_read_as_log_sigma",
                lambda frames, logits, mean, log_var: _elbo(frames, logits, mean, log_var, kl_of_log_std=True),
                "Your KL treats log_var as ln sigma: it is ln sigma^2, so sigma^2 = exp(log_var) "
                "and ln sigma^2 = log_var.",
                "KL = 0.5 * sum(exp(log_var) + mean**2 - 1 - log_var).", kind="variance for std"),
        Variant("pixels_averaged",
                lambda frames, logits, mean, log_var: _elbo(frames, logits, mean, log_var, reduce="mean"),
                "You averaged the reconstruction over the pixels: the ELBO sums the "
                "log-likelihood of every pixel (27,648 per frame), which is what a nat of KL is "
                "weighed against.",
                "sum over axes (1, 2, 3).", kind="reduction"),
        Variant("summed_over_frames",
                lambda frames, logits, mean, log_var: _elbo(frames, logits, mean, log_var, per_frame=False),
                "You summed over the frames too: the loss is one number per frame, shape (n,).",
                "sum the pixels over axes (1, 2, 3) and the code over axis 1 only.", kind="axis"),
    ),
))
