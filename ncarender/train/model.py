"""The Growing NCA in torch: perceive -> update -> stochastic, alive-masked step.

The state is float32 ``(N, C, H, W)``: channels 0-3 are premultiplied RGBA,
the rest hidden. One call of :meth:`NCA.forward` is one update step and is
exactly what :mod:`ncarender.train.export` writes to ONNX.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NCA", "NCAConfig", "seed_state"]


@dataclass(frozen=True)
class NCAConfig:
    """Hyper-parameters of the NCA; recorded in checkpoints and ONNX metadata."""

    channels: int = 16
    hidden: int = 128
    fire_rate: float = 0.5
    alive_threshold: float = 0.1

    def to_dict(self) -> dict[str, float | int]:
        """Return the config as a plain dict (for checkpoints and metadata)."""
        return asdict(self)


def _perception_kernel(channels: int) -> torch.Tensor:
    """Depthwise kernel ``(3*C, 1, 3, 3)``: identity, Sobel-x/8, Sobel-y/8 per channel.

    Output channel ``3*c + k`` is filter ``k`` applied to input channel ``c``.
    """
    ident = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    sobel_y = sobel_x.T.contiguous()
    filters = torch.stack([ident, sobel_x, sobel_y])  # (3, 3, 3)
    return filters.repeat(channels, 1, 1)[:, None]  # (3C, 1, 3, 3)


class NCA(nn.Module):
    """Growing Neural Cellular Automaton (Mordvintsev et al., Distill 2020).

    ``forward(state, mask)`` performs one step on ``state`` ``(N, C, H, W)``
    with the per-cell update ``mask`` ``(N, 1, H, W)`` (1 = the cell fires)
    and returns the next state ``(N, C, H, W)``.
    """

    kernel: torch.Tensor

    def __init__(
        self,
        *,
        channels: int = 16,
        hidden: int = 128,
        fire_rate: float = 0.5,
        alive_threshold: float = 0.1,
    ) -> None:
        super().__init__()
        if channels < 4:
            raise ValueError("an NCA needs at least 4 channels (RGBA)")
        self.config = NCAConfig(channels, hidden, fire_rate, alive_threshold)
        self.register_buffer("kernel", _perception_kernel(channels), persistent=False)
        self.w1 = nn.Conv2d(3 * channels, hidden, 1)
        self.w2 = nn.Conv2d(hidden, channels, 1, bias=False)
        nn.init.zeros_(self.w2.weight)

    @classmethod
    def from_config(cls, config: NCAConfig) -> NCA:
        """Build an untrained NCA from a config."""
        return cls(**asdict(config))

    def perceive(self, state: torch.Tensor) -> torch.Tensor:
        """Perception vectors ``(N, 3C, H, W)`` of ``state`` ``(N, C, H, W)``, zero padded."""
        return F.conv2d(state, self.kernel, padding=1, groups=self.config.channels)

    def update(self, state: torch.Tensor) -> torch.Tensor:
        """The residual update ``(N, C, H, W)`` proposed for every cell."""
        return self.w2(torch.relu(self.w1(self.perceive(state))))

    def alive(self, state: torch.Tensor) -> torch.Tensor:
        """Boolean ``(N, 1, H, W)``: max-pool 3x3 of alpha above the threshold."""
        alpha = state[:, 3:4]
        return F.max_pool2d(alpha, 3, stride=1, padding=1) > self.config.alive_threshold

    def forward(self, state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One step: ``state`` ``(N, C, H, W)``, ``mask`` ``(N, 1, H, W)`` -> ``(N, C, H, W)``."""
        pre = self.alive(state)
        state = state + self.update(state) * mask
        post = self.alive(state)
        return state * (pre & post).to(state.dtype)

    def forward_nhwc(self, state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The same step as :meth:`forward` in channels-last layout (the fast training path).

        ``state`` ``(N, H, W, C)`` and ``mask`` ``(N, H, W, 1)`` (0/1) -> ``(N, H, W, C)``.
        Perception is computed with separable shifted sums, and the update
        network runs only on the cells whose update can matter: those that
        fire and lie within one cell of a live cell (any other cell is zeroed
        by the alive masks, or adds ``update * 0``). That is the same result
        as the dense step, at a fraction of the matrix work.
        """
        c, hidden = self.config.channels, self.config.hidden
        n, height, width, _ = state.shape
        p = F.pad(state, (0, 0, 1, 1, 1, 1))  # zero pad H and W: (N, H+2, W+2, C)
        diff_w = p[:, :, 2:] - p[:, :, :-2]  # (N, H+2, W, C)
        smooth_w = p[:, :, :-2] + 2.0 * p[:, :, 1:-1] + p[:, :, 2:]
        sobel_x = (diff_w[:, :-2] + 2.0 * diff_w[:, 1:-1] + diff_w[:, 2:]) * 0.125
        sobel_y = (smooth_w[:, 2:] - smooth_w[:, :-2]) * 0.125
        # Interleave as channel 3*c + k to match the depthwise kernel's order.
        percept = torch.stack([state, sobel_x, sobel_y], dim=-1).reshape(-1, 3 * c)  # (N*H*W, 3C)
        pre = self._alive_nhwc(state)  # (N, H, W, 1)
        near = F.max_pool2d(pre.squeeze(-1).unsqueeze(1).to(state.dtype), 3, stride=1, padding=1) > 0
        active = torch.nonzero((near.squeeze(1).unsqueeze(-1) & (mask != 0)).reshape(-1)).squeeze(1)
        h = torch.relu(F.linear(percept.index_select(0, active), self.w1.weight.view(hidden, 3 * c), self.w1.bias))
        rows = F.linear(h, self.w2.weight.view(c, hidden)) * mask.reshape(-1, 1).index_select(0, active)
        update = torch.zeros((n * height * width, c), dtype=state.dtype, device=state.device)
        state = state + update.index_copy(0, active, rows).view(n, height, width, c)
        return state * (pre & self._alive_nhwc(state)).to(state.dtype)

    def _alive_nhwc(self, state: torch.Tensor) -> torch.Tensor:
        """Boolean ``(N, H, W, 1)`` alive mask of a channels-last state."""
        alpha = state[..., 3].unsqueeze(1)  # (N, 1, H, W)
        pooled = F.max_pool2d(alpha, 3, stride=1, padding=1)
        return (pooled > self.config.alive_threshold).squeeze(1).unsqueeze(-1)

    def random_mask(self, state: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A Bernoulli(fire_rate) update mask ``(N, 1, H, W)`` shaped like ``state``."""
        n, _, h, w = state.shape
        u = torch.rand((n, 1, h, w), generator=generator, device=state.device)
        return (u < self.config.fire_rate).to(state.dtype)


def seed_state(n: int, size: int | tuple[int, int], channels: int = 16) -> torch.Tensor:
    """The seed grid ``(n, channels, H, W)``: zeros but the centre cell, whose channels 3.. are 1."""
    h, w = (size, size) if isinstance(size, int) else size
    x = torch.zeros((n, channels, h, w))
    x[:, 3:, h // 2, w // 2] = 1.0
    return x
