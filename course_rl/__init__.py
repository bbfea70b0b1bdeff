"""course_rl: continuous-action reinforcement learning, taught in notebooks.

REINFORCE and A2C with a mixture-of-Gaussians policy and stochastic persistence, on a
cart-pole and a half-cheetah (pybullet or MuJoCo physics), and the half-cheetah from pixels
through a variational autoencoder.
"""

__version__ = "0.1.0"
