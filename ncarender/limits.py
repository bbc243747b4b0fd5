"""Every number at its limits: one rule for every numeric option, read by the command line, the batch and the API.

A :class:`Limit` is an option's allowed range (a whole number or a finite real, bounds included unless
``above``); :meth:`Limit.check` refuses anything else -- NaN, infinity, a bool, a number outside the range -- with
one line that names the option, the value and the range (``--fps must be a number from 0.001 to 1,000, got
nan``). :data:`OPTIONS` holds the limit of every numeric option by parameter name, :data:`COMMAND_OPTIONS` a
command's own where its parameter means something else (``train --batch-size``); :func:`check_options` applies
them to a command's parameters before it runs, and the library's own records (:class:`~ncarender.spec.RenderSpec`,
:class:`~ncarender.writers.options.WriterOptions`, the batch settings, training's config) check the same
:class:`Limit` objects, so a script gets the same line as the command line.

What a format can store (its longest frame, its largest side, its loop count) is the format's own fact, in the
table of formats (:mod:`ncarender.writers.formats`); :func:`check_frame_time` applies the frame-time limit.

Plain data: no numpy (the command line reads this at start-up).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Protocol, cast

from .checks import is_number, is_whole
from .errors import NCAError

__all__ = [
    "COMMAND_OPTIONS",
    "EVAL_STEP",
    "GRID_SIDE",
    "MAX_FPS",
    "MAX_HOLD_S",
    "MAX_SEED",
    "MAX_STEPS",
    "MIN_FPS",
    "OPTIONS",
    "Limit",
    "check_frame_time",
    "check_options",
    "check_timing",
    "clamped_fps",
    "frame_ms",
    "limits_of",
    "seconds",
]


class Timing(Protocol):
    """What the timing checks read of a format's record (:class:`ncarender.writers.formats.Format`): the limits
    live here, below the table of formats, so the table can apply them."""

    @property
    def title(self) -> str: ...
    @property
    def delay_unit_ms(self) -> int: ...
    @property
    def min_frame_ms(self) -> int: ...
    @property
    def max_frame_ms(self) -> int | None: ...
    @property
    def max_duration_ms(self) -> int | None: ...


#: The longest rollout a render takes (steps), and the longest frame stride.
MAX_STEPS = 10_000_000
#: The largest seed: a signed 64-bit integer (numpy's seed arrays, the manifest's JSON readers).
MAX_SEED = 2**63 - 1
#: Frame rates: a frame every 1,000 s at the slowest, 1,000 a second at the fastest.
MIN_FPS = 0.001
MAX_FPS = 1_000.0
#: The longest hold of the last frame, in seconds: the longest frame any format stores (APNG's 65,535 s).
MAX_HOLD_S = 65_535.0
#: The largest side of a picture any format stores (PNG's 31-bit width and height), so the largest scale.
MAX_SIDE = 2**31 - 1
#: The most encoders or seeds per rollout a batch asks for.
MAX_JOBS = 1_024
MAX_BATCH = 1_000_000
#: Training: iterations, samples, cells, channels -- far beyond any run, within what torch indexes.
MAX_COUNT = 2**31 - 1


def _number(value: float, whole: bool) -> str:
    """``1,000``, ``0.001``, ``65,535``: how a bound reads in a message."""
    return f"{int(value):,}" if whole or float(value).is_integer() else f"{value:,g}"


@dataclass(frozen=True)
class Limit:
    """The range of one numeric option: ``low <= value <= high`` (``above``: ``low < value``), whole or real.

    ``option`` is how messages name it (``--fps``).
    """

    option: str
    low: float
    high: float
    whole: bool = True
    above: bool = False

    def describe(self) -> str:
        """The range in words: ``a whole number from 1 to 10,000,000``, ``a number above 0 and at most 1``."""
        kind = "a whole number" if self.whole else "a number"
        low, high = _number(self.low, self.whole), _number(self.high, self.whole)
        if self.above:
            return f"{kind} above {low} and at most {high}"
        return f"{kind} from {low} to {high}"

    def allows(self, value: object) -> bool:
        """True if ``value`` is a number (whole, if so required) within the range."""
        try:
            if self.whole:
                if not is_whole(value):
                    return False
                number: float = int(cast(numbers.Integral, value))
            else:
                if not is_number(value):
                    return False
                number = float(cast(numbers.Real, value))
        except OverflowError:  # an integer too large for a float
            return False
        return (self.low < number if self.above else self.low <= number) and number <= self.high

    def check(self, value: object) -> object:
        """``value``, or :class:`NCAError`: ``--fps must be a number from 0.001 to 1,000, got nan``."""
        if not self.allows(value):
            raise NCAError(f"{self.option} must be {self.describe()}, got {_shown(value)}")
        return value

    def check_optional(self, value: object) -> object:
        """``value`` checked, None (the default) allowed."""
        return None if value is None else self.check(value)


def _shown(value: object) -> str:
    """A value as the message shows it: ``nan``, ``inf``, ``-3``, ``'abc'``."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return repr(value) if isinstance(value, str | bool) else str(value)


def _limit(option: str, low: float, high: float, *, whole: bool = True, above: bool = False) -> Limit:
    return Limit(option, low, high, whole, above)


#: Every numeric option of the render commands and the batch, by parameter name.
RENDER: dict[str, Limit] = {
    "steps": _limit("--steps", 1, MAX_STEPS),
    "every": _limit("--every", 1, MAX_STEPS),
    "start": _limit("--start", 0, MAX_STEPS),
    "step": _limit("--step", 1, MAX_STEPS),
    "seed": _limit("--seed", 0, MAX_SEED),
    "flake": _limit("--flake", 0, MAX_COUNT),
    "scale": _limit("--scale", 1, MAX_SIDE),
    "fps": _limit("--fps", MIN_FPS, MAX_FPS, whole=False),
    "hold": _limit("--hold", 0, MAX_HOLD_S, whole=False),
    "crf": _limit("--crf", 0, 51),
    "quality": _limit("--quality", 0, 100),
    "columns": _limit("--columns", 1, MAX_SIDE),
    "sheet_frames": _limit("--frames", 1, MAX_STEPS + 1),
    "at": _limit("--at", 0, MAX_STEPS),
    "batch_size": _limit("--batch-size", 1, MAX_BATCH),
    "jobs": _limit("--jobs", 1, MAX_JOBS),
    "speed": _limit("--speed", 0, 1_000, whole=False, above=True),
    # eval, export and family
    "target_size": _limit("--target-size", 3, 4_096),
    "num_seeds": _limit("--num-seeds", 1, 100_000),
    "regrowth": _limit("--regrowth", 0, 100_000),
    "parity_steps": _limit("--parity-steps", 1, MAX_STEPS),
}
#: The grid's sides (``--size N`` or ``HxW``); the memory check refuses a grid that does not fit long before.
GRID_SIDE = _limit("--size", 3, 1 << 20)
#: Each step of ``eval --steps 100,200``.
EVAL_STEP = _limit("--steps", 1, MAX_STEPS)

#: The training options: what they mean in ``train`` (``--batch-size`` is samples, ``--size`` the target's cells).
TRAIN: dict[str, Limit] = {
    "iterations": _limit("--iterations", 1, MAX_COUNT),
    "minutes": _limit("--minutes", 0, 1e6, whole=False, above=True),
    "batch_size": _limit("--batch-size", 1, 1 << 16),
    "pool_size": _limit("--pool-size", 1, 1 << 24),
    "steps_min": _limit("--steps-min", 1, 100_000),
    "steps_max": _limit("--steps-max", 1, 100_000),
    "lr": _limit("--lr", 0, 10, whole=False, above=True),
    "lr_decay_at": _limit("--lr-decay-at", 0, MAX_COUNT),
    "size": _limit("--size", 3, 4_096),
    "pad": _limit("--pad", 0, 4_096),
    "channels": _limit("--channels", 5, 1_024),
    "hidden": _limit("--hidden", 1, 65_536),
    "code_channels": _limit("--code-channels", 0, 1_024),
    "fire_rate": _limit("--fire-rate", 0, 1, whole=False, above=True),
    "lap_gain": _limit("--lap-gain", 0, 1e6, whole=False, above=True),
    "palette_weight": _limit("--palette-weight", 0, 1e6, whole=False),
    "growth_steps": _limit("--growth-steps", 0, 1_000),
    "growth_weight": _limit("--growth-weight", 0, 1e6, whole=False),
    "growth_every": _limit("--growth-every", 1, 1_000),
    "growth_seeds": _limit("--growth-seeds", 1, 1 << 16),
    "seed": _limit("--seed", 0, MAX_SEED),
    "checkpoint_every": _limit("--checkpoint-every", 1, MAX_COUNT),
    "warm_rounds": _limit("--warm-rounds", 0, 1_000),
}

#: The limit of every numeric option by parameter name (a command's own first: :data:`COMMAND_OPTIONS`).
OPTIONS: dict[str, Limit] = RENDER
COMMAND_OPTIONS: dict[str, dict[str, Limit]] = {
    "train": TRAIN,
    "family": {"scale": _limit("--scale", 1, 1_024)},
    # the live page: its seed feeds a 32-bit generator in JavaScript, its scale is CSS pixels per cell
    "html": {"seed": _limit("--seed", 0, 2**32 - 1), "scale": _limit("--scale", 1, 64)},
}


def limits_of(command: str) -> dict[str, Limit]:
    """The limits of ``command``'s numeric parameters by name."""
    return {**OPTIONS, **COMMAND_OPTIONS.get(command, {})}


def check_options(command: str, params: dict[str, object]) -> None:
    """Refuse a numeric parameter of ``command`` outside its limit (None: left at its default, allowed).

    Only numbers are checked (a parameter of the same name that is text, such as ``eval --steps 100,200``, is
    its command's to parse).
    """
    limits = limits_of(command)
    for name, value in params.items():
        limit = limits.get(name)
        if limit is not None and isinstance(value, int | float) and not isinstance(value, bool):
            limit.check(value)


def seconds(ms: float) -> str:
    """Milliseconds as seconds in a message, to the millisecond: ``16,777.215``, ``655.35``, ``1``."""
    return f"{ms / 1000:,.3f}".rstrip("0").rstrip(".")


def check_frame_time(title: str, max_frame_ms: int | None, frame_ms: float, hold_ms: float) -> None:
    """Refuse a last frame (one frame of ``frame_ms`` and the hold) longer than the format stores.

    ``title`` names the format, ``max_frame_ms`` its longest frame (None: no limit; a held frame is repeated).
    Runs of identical frames longer than that are split by the writers, so only the last frame can be refused.
    """
    if max_frame_ms is None or frame_ms + hold_ms <= max_frame_ms:
        return
    most = seconds(max_frame_ms)
    if frame_ms > max_frame_ms:
        raise NCAError(
            f"--fps must be at least {1000 / max_frame_ms:.6g} for {title} (a frame lasts at most {most} s), "
            f"got {1000 / frame_ms:g}"
        )
    raise NCAError(
        f"--hold must be at most {seconds(max_frame_ms - frame_ms)} s for {title} at this frame rate (a frame "
        f"lasts at most {most} s), got {seconds(hold_ms)}"
    )


# ---- a format's timing, from its record in the table of formats ----------------------------------------------


def _stored_ms(record: Timing, ms: float) -> float:
    """``ms`` rounded (halves up) to the format's ``delay_unit_ms``, as it stores it."""
    unit = record.delay_unit_ms
    return unit * math.floor(ms / unit + 0.5) if unit else ms


def frame_ms(record: Timing, fps: float) -> float:
    """How long one frame at ``fps`` lasts in the format: at least its ``min_frame_ms``, in its delay unit."""
    return max(float(record.min_frame_ms), _stored_ms(record, 1000 / fps))


def clamped_fps(record: Timing, fps: float) -> float | None:
    """The frame rate ``fps`` plays at when the format clamps it (its ``min_frame_ms``), else None."""
    if record.min_frame_ms and 1000 / fps < record.min_frame_ms:
        return 1000 / record.min_frame_ms
    return None


def check_timing(record: Timing, fps: float, hold: float, n_frames: int | None = None) -> None:
    """Refuse a frame rate or hold whose last frame (one frame and the hold) lasts longer than the format stores
    (its ``max_frame_ms``), or, given the rendered ``n_frames``, a whole longer than its ``max_duration_ms``:
    :class:`NCAError` naming the option, its value and the range."""
    one, hold_ms = frame_ms(record, fps), _stored_ms(record, hold * 1000)
    check_frame_time(record.title, record.max_frame_ms, one, hold_ms)
    if n_frames is not None and record.max_duration_ms is not None:
        total = n_frames * one + hold_ms
        if total > record.max_duration_ms:
            raise NCAError(
                f"{record.title} stores an animation of at most {seconds(record.max_duration_ms)} s; "
                f"{n_frames:,} frames at --fps {fps:g} and --hold {hold:g} would last {seconds(total)} s"
            )
