"""The hex lattice's torch operations: the ``lap6`` perception kernel and the max over a cell's hex neighbourhood.

A hex model's state is the axial array ``(N, C, H, W)`` (row ``r``, column ``q``) of :mod:`ncarender.lattice`.
Its step is the square step with two operations swapped:

* perception: identity and the normalised six-neighbour Laplacian
  (:data:`~ncarender.lattice.HEX_LAPLACIAN`) per channel, a 3x3 depthwise conv with two zero corners
  (:func:`hex_perception_kernel`), or the same sums on shifted views channels-last (:func:`lap6_nhwc`);
* the neighbourhood max of alive masking and the code relay: over the cell and its six neighbours
  (:func:`hex_max`, :func:`hex_max_nhwc`), which is the max of two 2x2 windows, one reaching up and right,
  one down and left; one ``MaxPool`` (kernel 2, stride 1, padding 1), two slices and a ``Max`` in ONNX.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..lattice import HEX_LAPLACIAN

__all__ = ["HEX_FILTERS", "hex_max", "hex_max_nhwc", "hex_perception_kernel", "lap6_nhwc"]

#: Perception filters per channel of a hex model: identity, then ``lap6`` (output channel ``2c + k``).
HEX_FILTERS = 2


def hex_perception_kernel(channels: int, gain: float = 1.0) -> torch.Tensor:
    """Depthwise kernel ``(2*C, 1, 3, 3)``: identity and ``gain * lap6`` per channel; output ``2c + k`` is filter ``k``.

    Gain 1 is :data:`~ncarender.lattice.HEX_LAPLACIAN` itself; another gain scales the integer stencil by
    ``gain / 6`` (so gain 6 is exactly the sum of the six minus six times the cell).
    """
    ident = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    if gain == 1.0:
        lap6 = torch.from_numpy(HEX_LAPLACIAN.copy())
    else:
        lap6 = torch.from_numpy((HEX_LAPLACIAN.astype(np.float64) * 6.0).round() * (gain / 6.0)).to(torch.float32)
    filters = torch.stack([ident, lap6])  # (2, 3, 3)
    return filters.repeat(channels, 1, 1)[:, None]  # (2C, 1, 3, 3)


def hex_max(x: torch.Tensor) -> torch.Tensor:
    """Max over each cell and its six hex neighbours of ``x`` ``(N, C, H, W)`` -> ``(N, C, H, W)``; off-array is -inf.

    ``pooled[i, j]`` is the max of rows ``i-1..i`` and columns ``j-1..j``; the cell ``(r, q)`` takes the max of
    the window up-right (rows ``r-1..r``, columns ``q..q+1``: ``pooled[r, q+1]``) and the window down-left
    (rows ``r..r+1``, columns ``q-1..q``: ``pooled[r+1, q]``). Together: every cell of the 3x3 square but the
    corners ``(-1, -1)`` and ``(+1, +1)``. Exact (a max never rounds), so it keeps any symmetry of ``x``.
    """
    pooled = F.max_pool2d(x, 2, stride=1, padding=1)  # (N, C, H+1, W+1)
    return torch.maximum(pooled[..., :-1, 1:], pooled[..., 1:, :-1])


def hex_max_nhwc(x: torch.Tensor) -> torch.Tensor:
    """:func:`hex_max` of a channels-last ``(N, H, W, C)`` tensor -> ``(N, H, W, C)``."""
    return hex_max(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def lap6_nhwc(state: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """The six-neighbour Laplacian ``gain * (mean(six neighbours) - cell)`` of ``(N, H, W, C)``, zero padded.

    The same function as the ``lap6`` filter of :func:`hex_perception_kernel` with the same gain (up to float
    rounding: the six are summed in a fixed order here).
    """
    p = F.pad(state, (0, 0, 1, 1, 1, 1))  # (N, H+2, W+2, C); cell (r, q) is p[r+1, q+1]
    six = (
        (p[:, 1:-1, 2:] + p[:, 1:-1, :-2])  # (0, +1), (0, -1)
        + (p[:, 2:, 1:-1] + p[:, :-2, 1:-1])  # (+1, 0), (-1, 0)
        + (p[:, :-2, 2:] + p[:, 2:, :-2])  # (-1, +1), (+1, -1)
    )
    if gain == 1.0:
        return six * (1.0 / 6.0) - state
    return six * (gain / 6.0) - gain * state
