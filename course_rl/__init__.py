"""course_rl: continuous-action reinforcement learning, taught in notebooks.

REINFORCE and A2C with a mixture-of-Gaussians policy and stochastic persistence, on a
cart-pole and a half-cheetah (pybullet or MuJoCo physics), and the half-cheetah from pixels
through a variational autoencoder.
"""

import os as _os

# TensorFlow writes C-level log lines (CPU features, XLA notices) when it first loads; they
# mean nothing to a student. Quiet them unless the user asked for them (the lines printed
# while it loads are dropped by course_rl.quiet_tf, through which the package imports it).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

REPOSITORY = "course-rl/course_rl"
"""The course's GitHub location, ``owner/name``: every Colab badge, Colab setup cell, Binder
link and install URL names it (``tests/test_repository_links.py`` checks that they agree).
A fork sets its own with ``python scripts/set_repository.py owner/name``, which rewrites them
all."""

BRANCH = "main"
"""The branch that badges, setup cells and Binder links open."""
