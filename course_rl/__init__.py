"""course_rl: continuous-action reinforcement learning, taught in notebooks.

REINFORCE and A2C with a mixture-of-Gaussians policy and stochastic persistence, on a
cart-pole and a half-cheetah (pybullet or MuJoCo physics), and the half-cheetah from pixels
through a variational autoencoder.
"""

import os as _os

# TensorFlow writes C-level log lines (CPU features, XLA notices) when it first loads; they
# mean nothing to a student. Quiet them unless the user asked for them.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
