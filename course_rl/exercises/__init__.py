"""Exercises for every chapter, and a checker that names the classic mistakes.

In a notebook::

    from course_rl.exercises import check
    check(discounted_returns)        # the function you wrote for exercise 3.1

``check`` runs your function on random and edge-case inputs against a reference solution. When
they disagree it compares your answers with a catalogue of known wrong ones (the original
study's defects among them: the spread scored with the opposite sign to the one sampled, the
n-step bootstrap from the wrong state, the unshifted softmax, ...) and names your mistake with a
hint. ``diagnose`` returns the same finding as a ``Feedback`` object.

One module per chapter (``chapter1`` ... ``chapter6``) holds that chapter's exercises: each
reference solution (its docstring is the stub you fill in), its inputs, its wrong variants.

Taught in every chapter; how to do the exercises: notebooks/01_tasks.ipynb.
"""

from .core import (EXERCISES, Case, Exercise, Feedback, Variant, by_chapter, check, diagnose,
                   get, last_input)
from . import chapter1, chapter2, chapter3, chapter4, chapter5, chapter6  # noqa: F401 (registers)

__all__ = ["EXERCISES", "Case", "Exercise", "Feedback", "Variant", "by_chapter", "check",
           "diagnose", "get", "last_input"]
