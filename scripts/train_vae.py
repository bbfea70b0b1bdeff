"""Train (or keep training) the cheetah VAE and write the files shipped in course_rl/data/vae/.

    python scripts/train_vae.py --frames 16000 --epochs 3             # from scratch
    python scripts/train_vae.py --continue --minutes 30                # more training
    python scripts/train_vae.py --frames-file /tmp/frames.npy ...      # reuse collected frames

Frames: ``pixels.collect_frames(n, seed=0)`` (random persistent actions, 10% of frames kept),
shuffled with seed 15; the first 1000 (``--validation``) are held out for validation. The script writes
``cheetah_encoder.npz`` (float32), ``cheetah_decoder.npz`` (float16) and
``cheetah_history.npz`` (per-step loss terms and probe cosine similarity, with an ``info_json``
record of how they were made); ``--continue`` starts from the shipped weights and appends to
the shipped history. ``--png`` saves held-out frames above their reconstructions.

The shipped VAE was made with ``--frames 16000 --epochs 3``, then ``--continue`` twice (230
and 2227 more steps, the second with ``--minutes 70 --epochs 200``): 3159 steps of 64 frames,
about 13 passes over the 15000 training frames, 43 minutes of training on a busy 2-core machine.
Held-out reconstruction term 413.7 -> 358.3 -> 177.8 nats per frame, KL about 21.7 nats.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

try:
    from course_rl import files, pixels, vae
except ImportError:  # running from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_rl import files, pixels, vae

KEYS = ("loss", "reconstruction", "kl", "mse", "probe_cosine", "epoch")


def describe_runs(runs: list[dict]) -> str:
    """One line on how the shipped VAE was trained, from the runs recorded in its history."""
    first, rest = runs[0], runs[1:]
    text = f"{first['epochs']} epochs ({first['steps']} steps)"
    if rest:
        text += ", then " + " and ".join(str(r["steps"]) for r in rest) + " more steps"
        text += " (each continuation with a fresh Adam state; scripts/train_vae.py --continue)"
    return text + f": {sum(r['steps'] for r in runs)} steps of {first['batch_size']} frames"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16000, help="frames to collect")
    parser.add_argument("--frames-file", default=None,
                        help=".npy of uint8 frames: loaded if it exists, else written after collecting")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after about this many minutes of training")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0, help="weights and minibatch seed")
    parser.add_argument("--continue", dest="resume", action="store_true",
                        help="start from the shipped VAE and append to its history")
    parser.add_argument("--out", default=str(vae.shipped_paths()["encoder"].parent))
    parser.add_argument("--png", default=None, help="write reconstructions of held-out frames here")
    parser.add_argument("--validation", type=int, default=1000, help="frames held out")
    parser.add_argument("--no-xla", dest="xla", action="store_false",
                        help="do not compile the training step with XLA (for a handful of steps)")
    args = parser.parse_args()

    path = Path(args.frames_file) if args.frames_file else None
    if path is not None and path.exists():
        frames = np.load(path)
    else:
        frames, _ = pixels.collect_frames(args.frames, seed=0)
        if path is not None:
            np.save(path, frames)
    frames = frames[np.random.default_rng(15).permutation(len(frames))]
    if not 0 < args.validation < len(frames):
        parser.error(f"--validation must be between 1 and the number of frames - 1 "
                     f"({len(frames) - 1}), got {args.validation}")
    validation, train = frames[:args.validation], frames[args.validation:]
    probe = train[:10]
    # the probe's reference embedding is always the untrained VAE's (seed 0)
    reference = vae.VAE(seed=0).encode_mean(probe)

    if args.resume:
        paths = vae.shipped_paths()
        model = vae.VAE.load(paths["encoder"], paths["decoder"])
        old = vae.load_history()
        info = old.pop("info")
        before = {k: old[k] for k in KEYS}
        seconds_before = float(old["seconds"])
        first_epoch = int(before["epoch"][-1]) + 1
    else:
        model = vae.VAE(seed=args.seed, learning_rate=args.learning_rate)
        before = {k: np.zeros(0) for k in KEYS}
        info, seconds_before, first_epoch = {}, 0.0, 0
    model.optimizer.learning_rate.assign(args.learning_rate)

    steps_before = len(before["loss"])
    max_steps = None
    if args.minutes is not None:  # compile, time a few steps, then budget the rest
        trial_seconds = 0.0
        for steps in (1, 5):
            trial = model.train(train, epochs=1, batch_size=args.batch_size,
                                seed=args.seed + 1000 + steps, probe=probe, reference=reference,
                                max_steps=steps, progress=False, jit_compile=args.xla)
            before = {k: np.concatenate([before[k], trial[k] + (first_epoch if k == "epoch" else 0)])
                      for k in KEYS}
            trial_seconds += float(trial["seconds"])
        seconds_before += trial_seconds
        max_steps = max(1, int((args.minutes * 60 - trial_seconds) / (trial["seconds"] / 5)))
    started = time.perf_counter()
    history = model.train(train, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                          probe=probe, reference=reference, max_steps=max_steps,
                          jit_compile=args.xla)
    seconds = time.perf_counter() - started
    merged = {k: np.concatenate([before[k], history[k] + (first_epoch if k == "epoch" else 0)])
              for k in KEYS}
    merged["epoch"] = merged["epoch"].astype(np.int64)
    merged["seconds"] = np.asarray(seconds_before + seconds)
    scores = model.evaluate(validation)
    print(f"trained {len(merged['loss']) - steps_before} steps; held-out: "
          + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))

    info.setdefault("runs", []).append({
        "frames": int(len(frames)), "train_frames": int(len(train)),
        "validation_frames": int(len(validation)), "collect_seed": 0, "shuffle_seed": 15,
        "epochs": args.epochs, "steps": int(len(merged["loss"]) - steps_before), "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "seed": args.seed, "continued": args.resume,
        "seconds": seconds, "validation": scores})
    info["validation"] = scores
    info["note"] = describe_runs(info["runs"])
    info["train_seconds"] = float(merged["seconds"])
    out = Path(args.out)
    model.save(out / vae.SHIPPED_ENCODER, parts=("encoder",))
    model.save(out / vae.SHIPPED_DECODER, parts=("decoder",), decoder_dtype="float16")
    files.save_npz(out / vae.SHIPPED_HISTORY, {**merged, "info_json": json.dumps(info)})
    if args.png:
        import imageio.v2 as imageio
        shown = validation[:8]
        rows = [np.concatenate(list(x), axis=1) for x in (shown, model.reconstruct(shown))]
        imageio.imwrite(args.png, np.concatenate(rows, axis=0))
    for name in (vae.SHIPPED_ENCODER, vae.SHIPPED_DECODER, vae.SHIPPED_HISTORY):
        print(f"{out / name}: {(out / name).stat().st_size / 2**20:.2f} MB")


if __name__ == "__main__":
    main()
