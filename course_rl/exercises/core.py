"""The checker behind the exercises: run a student's function, compare, and name the mistake.

An ``Exercise`` holds a reference solution, the inputs it is checked on (random ones and edge
cases, each with a label in words) and a catalogue of ``Variant``: wrong implementations of the
same function, each with the sentence that names the mistake and a hint. ``diagnose`` runs the
student's function on every input and answers, in this order:

1. not attempted yet (the stub's ``NotImplementedError``), or an exception: which input, which
   line of the student's code, what the error usually means;
2. ``None`` returned (a forgotten ``return``);
3. correct: a short confirmation and one fact;
4. a known mistake: the student's answers equal a catalogued variant's on every input;
5. a wrong shape, a wrong dtype, inf or nan where the reference is finite;
6. otherwise a plain mismatch, shown on the smallest input on which the answers differ.

Only NumPy and SciPy are imported here; an exercise that needs TensorFlow imports it itself.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import inspect
import linecache
import re
import signal
import textwrap
import threading
import traceback
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

SECONDS_PER_CALL = 10.0
"""A student's function that takes longer than this on one input is stopped (where the platform
allows it: a Unix main thread) and reported as too slow."""


# ------------------------------------------------------------------------------------------------
# What an exercise is made of
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One input: keyword arguments for the function, and a label saying what it is."""
    label: str
    inputs: dict
    edge: bool = False
    tags: frozenset = frozenset()


@dataclass(frozen=True)
class Variant:
    """A known wrong answer: an implementation of the mistake, its diagnosis and a hint.

    ``kind`` names the family of the slip (``"sign"``, ``"off-by-one"``, ``"axis"``,
    ``"overflow"``, ``"stop-gradient"``, ``"dtype"``, ...). ``defect`` is set when the mistake
    is one the original study made (its words, e.g. ``"defect 2: n-step bootstrap from the
    wrong state"``). ``fails_on``: for an overflow-style mistake, the tag of the inputs on which
    it breaks; a student's answer is then recognised when it is right on every other input and
    has inf or nan on a tagged one (there are many ways to overflow, and they need not give the
    same nans). ``check_dtype``: the variant's answers only match when their dtype does too.
    """
    id: str
    wrong: Callable
    diagnosis: str
    hint: str
    kind: str
    defect: str | None = None
    fails_on: str | None = None
    check_dtype: bool = False


@dataclass
class Exercise:
    """One exercise of one chapter (see the chapter modules for the 20 of the course)."""
    id: str
    chapter: int
    title: str
    question: str
    reference: Callable
    cases: Callable[[np.random.Generator], list]
    variants: Sequence[Variant]
    fact: str
    hint: str
    dtype: str = "floating"          # "float64", "float32", "floating", "number" or "bool"
    parts: tuple | None = None       # names of the returned values, when a tuple is returned
    rtol: float = 1e-5
    atol: float = 1e-7
    call: Callable | None = None     # call(fn, inputs) -> observed answer; default fn(**inputs)
    exception_hints: tuple = ()      # (regular expression on the error message, hint)
    review: Callable | None = None   # review(fn) -> a note added to a correct answer, or None
    number: str = ""                 # "3.1": set when registered

    @property
    def name(self) -> str:
        return f"Exercise {self.number} ({self.id})"

    @property
    def signature(self) -> str:
        return f"{self.id}{inspect.signature(self.reference)}"

    @property
    def stub(self) -> str:
        """The source the student starts from: the reference's signature and docstring."""
        header = _def_and_docstring(self.reference)
        return (f"{header}\n    # Your code here: replace the next line.\n"
                f'    raise NotImplementedError("exercise {self.number} not attempted yet")\n')

    @property
    def solution(self) -> str:
        """The reference's source, under the name ``<id>_solution`` (so it replaces nothing)."""
        source = textwrap.dedent(inspect.getsource(self.reference))
        return re.sub(rf"^def {re.escape(self.reference.__name__)}\(",
                      f"def {self.id}_solution(", source, count=1, flags=re.M)


def _def_and_docstring(fn) -> str:
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    first = node.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        raise ValueError(f"the reference {fn.__name__} needs a docstring: it is the stub's spec")
    return "\n".join(source.splitlines()[:first.end_lineno])


# ------------------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------------------

EXERCISES: dict[str, Exercise] = {}
"""Every exercise of the course by id, in chapter order."""


def register(exercise: Exercise) -> Exercise:
    if exercise.id in EXERCISES:
        raise ValueError(f"exercise id {exercise.id!r} registered twice")
    if exercise.reference.__name__ != exercise.id:
        raise ValueError(f"exercise {exercise.id!r}: its reference is named "
                         f"{exercise.reference.__name__!r}; the student's function is found by name")
    _def_and_docstring(exercise.reference)      # the stub needs the reference's docstring
    ids = [v.id for v in exercise.variants]
    if len(set(ids)) != len(ids):
        raise ValueError(f"exercise {exercise.id!r}: variant ids repeat: {ids}")
    exercise.number = f"{exercise.chapter}.{sum(e.chapter == exercise.chapter for e in EXERCISES.values()) + 1}"
    EXERCISES[exercise.id] = exercise
    return exercise


def get(exercise_id: str) -> Exercise:
    """The exercise with this id (a one-line error lists the ids there are)."""
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise ValueError(f"no exercise {exercise_id!r}; the exercises are: "
                         f"{', '.join(EXERCISES)}") from None


def by_chapter(chapter: int) -> list[Exercise]:
    """The exercises of one chapter, in the order the chapter asks them."""
    return [e for e in EXERCISES.values() if e.chapter == chapter]


# ------------------------------------------------------------------------------------------------
# Feedback
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Feedback:
    """What the checker found. ``kind`` is one of: correct, not attempted, mistake, exception,
    none, shape, dtype, nonfinite, mismatch, unknown exercise. ``mistake`` is the variant id."""
    exercise: str | None
    kind: str
    message: str
    mistake: str | None = None
    case: str | None = None
    inputs: dict | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.kind == "correct"

    def __str__(self) -> str:
        return self.message


def check(student_function: Callable, exercise: str | None = None) -> None:
    """Check a function written for an exercise and print what the checker found.

    The exercise is found by the function's name (``discounted_returns`` and
    ``discounted_returns_solution`` both check exercise ``discounted_returns``) or given
    as ``exercise``. ``diagnose`` returns the same finding as a ``Feedback`` object.
    """
    print(diagnose(student_function, exercise).message)


def diagnose(student_function: Callable, exercise: str | None = None) -> Feedback:
    """Run ``student_function`` on every input of its exercise and say what is right or wrong."""
    found = _find_exercise(student_function, exercise)
    if isinstance(found, Feedback):
        return found
    feedback = _diagnose(found, student_function)
    if feedback.inputs is not None:
        _LAST_INPUT.clear()
        _LAST_INPUT.update(feedback.inputs)
        if not all(_shown_in_full(v) for v in feedback.inputs.values()):
            feedback = replace(feedback, message=(
                f"{feedback.message}\nTo rerun your function on that input: "
                f"{found.id}(**last_input()), with `from course_rl.exercises import last_input`."))
    return feedback


_LAST_INPUT: dict = {}


def last_input() -> dict:
    """The input (keyword arguments) of the last answer the checker reported as wrong."""
    if not _LAST_INPUT:
        raise ValueError("no input yet: last_input() returns the input of the last failed check")
    return copy.deepcopy(_LAST_INPUT)


def _shown_in_full(value) -> bool:
    return not isinstance(value, np.ndarray) or (value.ndim <= 1 and value.size <= 8)


def _find_exercise(fn, exercise_id):
    if not callable(fn):
        return Feedback(None, "unknown exercise",
                        f"check() needs the function you wrote (without calling it: "
                        f"check(discounted_returns), not check(discounted_returns(...))); "
                        f"it got {type(fn).__name__} {_short(fn)}.")
    if exercise_id is not None:
        if exercise_id not in EXERCISES:
            return Feedback(None, "unknown exercise",
                            f"There is no exercise {exercise_id!r}. The exercises are: "
                            f"{', '.join(EXERCISES)}.")
        return EXERCISES[exercise_id]
    name = getattr(fn, "__name__", "")
    for candidate in (name, name.removesuffix("_solution")):
        if candidate in EXERCISES:
            return EXERCISES[candidate]
    return Feedback(None, "unknown exercise",
                    f"check() could not tell which exercise `{name}` is for: keep the stub's "
                    f"function name, or name the exercise, e.g. check({name or 'f'}, "
                    f"\"discounted_returns\"). The exercises are: {', '.join(EXERCISES)}.")


# ------------------------------------------------------------------------------------------------
# Running the student's code
# ------------------------------------------------------------------------------------------------

class _TooSlow(BaseException):
    """Raised inside a student's function that runs too long (a BaseException, so that an
    ``except Exception`` in the student's code does not swallow it)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None


def _call(exercise: Exercise, fn: Callable, case: Case) -> _Outcome:
    inputs = copy.deepcopy(case.inputs)   # a function that changes its inputs changes no other call
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), _time_limit(SECONDS_PER_CALL):
            warnings.simplefilter("ignore")
            if exercise.call is None:
                value = fn(**inputs)
            else:
                value = exercise.call(fn, inputs)
        return _Outcome(value=value)
    except Exception as error:   # noqa: BLE001 -- every error of the student's code is explained
        return _Outcome(error=error)
    except _TooSlow as error:
        return _Outcome(error=error)


def _as_answer(exercise: Exercise, value):
    """The observed answer as an array, or a tuple of arrays (``None`` stays ``None``)."""
    if value is None:
        return None
    if exercise.parts is not None:
        if not isinstance(value, (tuple, list)) or len(value) != len(exercise.parts):
            return _WrongArity(value)
        return tuple(None if v is None else _as_array(v) for v in value)
    return _as_array(value)


def _as_array(value):
    try:
        return np.asarray(value)
    except Exception:   # noqa: BLE001 -- e.g. a ragged list: compared as an object array
        return np.asarray(value, dtype=object)


@dataclass
class _WrongArity:
    value: Any


# ------------------------------------------------------------------------------------------------
# Comparisons
# ------------------------------------------------------------------------------------------------

def _close(exercise: Exercise, got, want) -> bool:
    """Same shape and values within tolerance (nan equals nan); dtype not compared."""
    if isinstance(want, tuple):
        return (isinstance(got, tuple) and len(got) == len(want)
                and all(_close(exercise, g, w) for g, w in zip(got, want)))
    if got is None or isinstance(got, (tuple, _WrongArity)) or got.shape != want.shape:
        return False
    try:
        if want.dtype == bool or got.dtype == bool:
            return bool(np.array_equal(got.astype(bool), want.astype(bool)))
        g, w = got.astype(np.float64), want.astype(np.float64)
    except (TypeError, ValueError):
        return False
    same_nonfinite = np.array_equal(np.isnan(g), np.isnan(w)) and np.array_equal(
        np.where(np.isinf(g), g, 0), np.where(np.isinf(w), w, 0))
    finite = np.isfinite(g) & np.isfinite(w)
    return bool(same_nonfinite and np.allclose(g[finite], w[finite], rtol=exercise.rtol,
                                               atol=exercise.atol))


def _dtype_ok(rule: str, got: np.ndarray, want: np.ndarray) -> bool:
    if rule == "floating":
        return np.issubdtype(got.dtype, np.floating)
    if rule == "number":
        return np.issubdtype(got.dtype, np.number)
    if rule == "bool":
        return got.dtype == bool
    return got.dtype == np.dtype(rule)


def _same_dtype(got, want) -> bool:
    if isinstance(want, tuple):
        return all(_same_dtype(g, w) for g, w in zip(got, want))
    return got.dtype == want.dtype


def _parts(exercise, answer):
    """(name, array) pairs of an answer: one unnamed part, or the exercise's named parts."""
    if exercise.parts is None:
        return [("", answer)]
    return list(zip(exercise.parts, answer))


def _nonfinite_where_finite(got, want) -> bool:
    if isinstance(want, tuple):
        return isinstance(got, tuple) and any(_nonfinite_where_finite(g, w) for g, w in zip(got, want))
    if got is None or isinstance(got, (tuple, _WrongArity)) or got.shape != want.shape:
        return False
    try:
        g, w = got.astype(np.float64), want.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return bool(np.any(~np.isfinite(g) & np.isfinite(w)))


def _matches(exercise, variant, cases, answers, variant_answers, wants) -> bool:
    if variant.fails_on is not None:
        tagged = [i for i, c in enumerate(cases) if variant.fails_on in c.tags]
        return (all(_close(exercise, answers[i], wants[i]) for i in range(len(cases)) if i not in tagged)
                and any(_nonfinite_where_finite(answers[i], wants[i]) for i in tagged))
    for got, theirs in zip(answers, variant_answers):
        if not _close(exercise, got, theirs):
            return False
        if variant.check_dtype and not _same_dtype(got, theirs):
            return False
    return True


# ------------------------------------------------------------------------------------------------
# The diagnosis
# ------------------------------------------------------------------------------------------------

def _diagnose(exercise: Exercise, fn: Callable) -> Feedback:
    rng = np.random.default_rng(sum(map(ord, exercise.id)))   # the same inputs at every check
    cases = exercise.cases(rng)
    head = f"{exercise.name}:"

    # the reference first: it also imports what the exercise needs (SciPy, TensorFlow) before
    # the student's function runs under a time limit
    wants = [_as_answer(exercise, _run_quietly(exercise, exercise.reference, c)) for c in cases]

    answers = []
    for case in cases:
        outcome = _call(exercise, fn, case)
        if outcome.error is not None:
            if isinstance(outcome.error, NotImplementedError):
                return Feedback(exercise.id, "not attempted",
                                f"{head} not attempted yet. Replace the line `raise "
                                f"NotImplementedError(...)` with your code, run that cell, then "
                                f"run this check again.")
            return _explain_exception(exercise, fn, case, outcome.error)
        answers.append(_as_answer(exercise, outcome.value))

    for case, answer in zip(cases, answers):
        if answer is None or (isinstance(answer, tuple) and any(a is None for a in answer)):
            return Feedback(exercise.id, "none",
                            f"{head} your function returned None (on {_case_text(case)}). Did "
                            f"you forget a `return`? (A function that only changes an array in place, "
                            f"or prints its answer, returns None.)", case=case.label, inputs=case.inputs)

    close = [_close(exercise, a, w) for a, w in zip(answers, wants)]
    dtypes = [not isinstance(a, _WrongArity)
              and all(_dtype_ok(exercise.dtype, g, w) for (_, g), (_, w) in
                      zip(_parts(exercise, a), _parts(exercise, w)))
              for a, w in zip(answers, wants)]
    if all(close) and all(dtypes):
        return _correct(exercise, fn, cases)

    for variant in exercise.variants:
        theirs = [None if variant.fails_on else _as_answer(exercise, _run_quietly(exercise, variant.wrong, c))
                  for c in cases]
        if _matches(exercise, variant, cases, answers, theirs, wants):
            return Feedback(exercise.id, "mistake",
                            f"{head} not yet. {variant.diagnosis}\n"
                            f"Hint: {variant.hint}", mistake=variant.id)

    for case, answer, want in zip(cases, answers, wants):
        message = _shape_message(exercise, case, answer, want)
        if message:
            return Feedback(exercise.id, "shape", f"{head} {message}", case=case.label, inputs=case.inputs)
    for case, answer, want, ok in zip(cases, answers, wants, dtypes):
        if not ok:
            return Feedback(exercise.id, "dtype", f"{head} {_dtype_message(exercise, case, answer, want)}",
                            case=case.label, inputs=case.inputs)
    for case, answer, want in zip(cases, answers, wants):
        if _nonfinite_where_finite(answer, want):
            return Feedback(exercise.id, "nonfinite",
                            f"{head} not yet. On {_case_text(case)}, your answer has inf or nan "
                            f"where the reference is finite. Something overflowed (exp of a large number, in "
                            f"float32 above about 88) or divided 0 by 0.\nHint: {exercise.hint}",
                            case=case.label, inputs=case.inputs)
    # the smallest input on which the answers differ is the easiest to work out by hand
    case, answer, want = min(((c, a, w) for c, a, w, ok in zip(cases, answers, wants, close) if not ok),
                             key=lambda item: _size(item[0]))
    return Feedback(exercise.id, "mismatch",
                    f"{head} not yet. On {_case_text(case)}, your answer differs from the "
                    f"reference: {_difference_text(exercise, answer, want)}. This is not one of the "
                    f"mistakes the checker knows: work this input out by hand.\n"
                    f"Hint: {exercise.hint}", case=case.label, inputs=case.inputs)


def _run_quietly(exercise, fn, case):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        inputs = copy.deepcopy(case.inputs)
        return fn(**inputs) if exercise.call is None else exercise.call(fn, inputs)


def _correct(exercise: Exercise, fn, cases) -> Feedback:
    edges = sum(c.edge for c in cases)
    message = (f"{exercise.name}: correct. Your function agrees with the reference on "
               f"{len(cases)} inputs, {edges} of them edge cases. {exercise.fact}")
    if exercise.review is not None:
        note = exercise.review(fn)
        if note:
            message += f"\nA remark: {note}"
    return Feedback(exercise.id, "correct", message)


# ---- shape and dtype ------------------------------------------------------------------------

def _shape_message(exercise, case, answer, want) -> str | None:
    if isinstance(answer, _WrongArity):
        value = answer.value
        got = (f"{len(value)} values" if isinstance(value, (tuple, list))
               else f"one {type(value).__name__}")
        return (f"your function should return {len(exercise.parts)} values, "
                f"({', '.join(exercise.parts)}), as a tuple; on {_case_text(case)} it returned "
                f"{got}.\nHint: end with `return {', '.join(exercise.parts)}`.")
    for (part, got), (_, wanted) in zip(_parts(exercise, answer), _parts(exercise, want)):
        if got.shape == wanted.shape:
            continue
        what = f"the {part} you return" if part else "your answer"
        return (f"{what} has shape {got.shape}, where {_shape_words(wanted.shape)} is expected "
                f"(on {_case_text(case)}).\nHint: {_shape_hint(got.shape, wanted.shape)}")
    return None


def _shape_words(shape) -> str:
    return "a single number (shape ())" if shape == () else f"shape {shape}"


def _shape_hint(got, want) -> str:
    if want == () and int(np.prod(got)) == 1:
        return "return a plain number: float(x) or x.item() turns a one-element array into one."
    if len(got) == len(want) + 1:
        return ("you kept an axis the answer does not have: was a sum or a selection meant to "
                "run over it (axis=...)?")
    if len(got) + 1 == len(want) or got == ():
        return ("you summed (or selected) over an axis too many: check which axis each sum "
                "runs over, and keepdims.")
    if len(got) == len(want) and len(got) >= 1 and got[-1] != want[-1]:
        return ("the lengths differ by "
                f"{abs(got[-1] - want[-1])}: an off-by-one at the start or the end of a slice "
                "(t + 1, t + n)?")
    return "compare the shapes of your intermediate arrays with the inputs' (print(x.shape))."


def _dtype_message(exercise, case, answer, want) -> str:
    for (part, got), (_, wanted) in zip(_parts(exercise, answer), _parts(exercise, want)):
        if _dtype_ok(exercise.dtype, got, wanted):
            continue
        what = f"the {part} you return" if part else "your answer"
        expected = {"floating": "floating-point numbers", "number": "numbers",
                    "bool": "booleans"}.get(exercise.dtype, f"{exercise.dtype} values")
        if np.issubdtype(got.dtype, np.integer) and exercise.dtype != "number":
            why = ("integers: an integer array cannot hold fractions, and integer arithmetic "
                   "truncates (// or astype(int))")
        elif got.dtype == object or got.dtype.kind in "USO":
            why = (f"{got.dtype} (Python objects or text), not numbers: return a NumPy array "
                   f"or a float")
        elif got.dtype == np.float32 and exercise.dtype == "float64":
            why = ("float32, which keeps about 7 digits; this exercise works in float64 "
                   "(np.asarray(x, dtype=np.float64) at the start)")
        elif got.dtype == np.float64 and exercise.dtype == "float32":
            why = "float64, twice the memory of the float32 expected"
        else:
            why = str(got.dtype)
        return (f"{what} has the right shape but the wrong type (on {_case_text(case)}): "
                f"{expected} are expected, yours are {why}.\nHint: convert with "
                f".astype(...) (or float(...)) where you build the answer.")
    return "the type of your answer is not the expected one."


def _difference_text(exercise, answer, want) -> str:
    for (part, got), (_, wanted) in zip(_parts(exercise, answer), _parts(exercise, want)):
        if _close(exercise, got, wanted):
            continue
        where = f"for the {part}, " if part else ""
        try:
            g, w = got.astype(np.float64), wanted.astype(np.float64)
        except (TypeError, ValueError):
            return f"{where}expected {_short(wanted)}, got {_short(got)}"
        if w.size <= 8 and w.ndim <= 1:
            return f"{where}expected {_short(wanted)}, got {_short(got)}"
        wrong = ~np.isclose(g, w, rtol=exercise.rtol, atol=exercise.atol, equal_nan=True)
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        return (f"{where}{int(wrong.sum())} of the {w.size} values differ, the first at index "
                f"{first[0] if len(first) == 1 else first}: expected {_short(w[first])}, "
                f"got {_short(g[first])}")
    return "the answers differ"


# ---- exceptions -----------------------------------------------------------------------------

_GENERIC_HINTS = (
    (r"could not be broadcast|operands could not be broadcast",
     "two arrays of different shapes were combined. Print their shapes; `x[:, None]` adds an "
     "axis so that one number per row applies to a whole row."),
    (r"out of bounds|index .* is out of range|list index out of range",
     "an index ran past the end of an array: check the last step (t + 1 or t + n can equal the "
     "length) and whether indices count from 0."),
    (r"truth value of an array",
     "`if`, `and`, `or` and `not` need one True or False, not an array: use np.where, & and |, "
     "or .any() / .all()."),
    (r"unsupported operand|can't multiply sequence|can only concatenate",
     "arithmetic on a Python list: convert it first with np.asarray(x, dtype=np.float64)."),
    (r"takes \d+ positional argument|got an unexpected keyword argument|missing \d+ required",
     "the function must keep the stub's signature (its arguments and their names)."),
    (r"not defined",
     "a name is not defined: a typo, or a module not imported in your cell (import numpy as np)."),
    (r"division by zero",
     "a division by zero: a Python float divided by 0.0 raises (NumPy would give inf or nan)."),
)


def _explain_exception(exercise: Exercise, fn, case: Case, error: BaseException) -> Feedback:
    head = f"{exercise.name}:"
    if isinstance(error, _TooSlow):
        return Feedback(exercise.id, "exception",
                        f"{head} your function took more than {SECONDS_PER_CALL:g} s on "
                        f"{_case_text(case)} and was stopped. An endless loop, or a loop inside a "
                        f"loop over every step (O(T^2) work for an episode of T steps)?\n"
                        f"Hint: {exercise.hint}", case=case.label, inputs=case.inputs)
    name = type(error).__name__
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    where = _student_line(fn, error)
    if where is None:
        location = ("It happened before your code ran, while calling it: "
                    f"the function must accept {exercise.signature}.")
    else:
        lineno, line, filename = where
        place = "" if _is_notebook_file(filename) else f" ({filename.rsplit('/', 1)[-1]})"
        location = f"It happened on line {lineno} of your code{place}: {line.strip()}"
    hint = next((h for pattern, h in tuple(exercise.exception_hints) + _GENERIC_HINTS
                 if re.search(pattern, f"{name}: {text}")),
                "read the error message with the input above in mind; print intermediate "
                "arrays and their shapes.")
    return Feedback(exercise.id, "exception",
                    f"{head} your function raised {name}" + (f" ({text})" if text else "")
                    + f" on {_case_text(case)}.\n{location}\nHint: {hint}", case=case.label, inputs=case.inputs)


def _student_line(fn, error):
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == code.co_filename]
    if not frames:
        return None
    frame = frames[-1]
    line = frame.line or linecache.getline(frame.filename, frame.lineno)
    return frame.lineno, line or "(source not available)", frame.filename


def _is_notebook_file(filename: str) -> bool:
    return "ipykernel_" in filename or filename.startswith("<ipython-input") or filename.startswith("<")


# ---- describing inputs and answers ----------------------------------------------------------

def _size(case: Case) -> int:
    return sum(np.size(v) for v in case.inputs.values())


def _case_text(case: Case) -> str:
    inputs = ", ".join(f"{k} = {_short(v)}" for k, v in case.inputs.items())
    return f"{case.label}, with {inputs}"


def _short(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.6g}"
        if float(text) != float(value) and float(text).is_integer():   # 0.999999999, not 1
            text = f"{float(value):.12g}"
        return text
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        try:
            return _short(np.asarray(value))
        except Exception:   # noqa: BLE001
            return repr(value)[:60]
    if isinstance(value, np.ndarray):
        dtype = "" if value.dtype == np.float64 else f", {value.dtype}"
        if value.ndim == 0:
            return _short(value.item())
        if value.size <= 8 and value.ndim == 1 and value.dtype != object:
            body = "[" + ", ".join(_short(x) for x in value.tolist()) + "]"
            return f"{body}{' (' + str(value.dtype) + ')' if dtype else ''}"
        return f"an array of shape {value.shape}{dtype}"
    return repr(value)[:60]


def nested_loop_depth(fn) -> int | None:
    """How deeply ``for``/``while`` loops and comprehensions nest in ``fn``'s source (None if
    the source cannot be read)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    comprehensions = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def depth(node, level=0):
        if isinstance(node, (ast.For, ast.While)):
            level += 1
        elif isinstance(node, comprehensions):
            level += len(node.generators)
        return max([level] + [depth(child, level) for child in ast.iter_child_nodes(node)])

    return depth(tree)
