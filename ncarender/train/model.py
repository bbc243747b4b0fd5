"""The Growing NCA in torch: perceive -> update -> stochastic, alive-masked step.

The state is float32 ``(N, C, H, W)``: channels 0-3 are premultiplied RGBA,
the rest hidden. One call of :meth:`NCA.forward` is one update step and is
exactly what :mod:`ncarender.train.export` writes to ONNX.

A seed-conditioned NCA (a family of flakes, ``code_channels`` D > 0) carries
its flake's code in D more state channels after the C NCA channels:
``(N, C + D, H, W)``. The code is not learned by the step: each step relays it
exactly, ``relay = maxpool3x3(code)`` (codes are >= 0, so a live cell and
every cell that can come alive next to it read the one code of its flake),
the update network reads ``[perception of the C channels; relay]`` and updates
only the C channels, and the alive mask zeroes dead cells' codes with the rest.
A dead cell with no live neighbour therefore stays exactly zero, as before.

The lattice is a model property (:mod:`ncarender.lattice`): ``square`` (the
above) or ``hex``, whose state is the axial array of a hexagonal lattice; a hex
model perceives identity and ``lap6`` (2C perception channels) and takes the
alive and relay maxima over a cell and its six neighbours (:mod:`.hex_ops`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..lattice import MASK_CELL, MASK_ORBIT, SQUARE, check_mask_kind, hex_orbits, lattice_named
from .hex_ops import HEX_FILTERS, hex_max, hex_perception_kernel, lap6_nhwc

__all__ = ["NCA", "NCAConfig", "seed_state"]


@dataclass(frozen=True)
class NCAConfig:
    """Hyper-parameters of the NCA; recorded in checkpoints and ONNX metadata."""

    channels: int = 16
    hidden: int = 128
    fire_rate: float = 0.5
    alive_threshold: float = 0.1
    #: Flake-code channels after the ``channels`` NCA channels (0: an unconditioned model).
    code_channels: int = 0
    #: The lattice the state lives on: ``square`` or ``hex`` (:mod:`ncarender.lattice`).
    lattice: str = SQUARE.name
    #: The update mask's kind: ``cell`` (per-cell Bernoulli) or ``orbit`` (one draw per symmetry orbit; hex).
    mask: str = MASK_CELL
    #: A hex model's ``lap6`` gain: the perceived Laplacian is ``gain * (mean of the six - cell)`` (1: normalised;
    #: 6: the unnormalised sum of the six minus six times the cell). Part of the model: its ONNX kernel carries it.
    lap_gain: float = 1.0

    def __post_init__(self) -> None:
        check_mask_kind(self.mask, lattice_named(self.lattice, source="model config"), source="model config")
        if not 0.0 < self.lap_gain < float("inf"):
            raise ValueError(f"lap_gain must be positive and finite, got {self.lap_gain}")

    @property
    def hex(self) -> bool:
        """Whether the state is a hex lattice's axial array."""
        return self.lattice != SQUARE.name

    @property
    def perception_channels(self) -> int:
        """Perception channels of the NCA channels: 3C (identity, Sobel-x, Sobel-y) or 2C on hex (identity, lap6)."""
        return (HEX_FILTERS if self.hex else 3) * self.channels

    @property
    def state_channels(self) -> int:
        """Channels of the state: the NCA's plus the code's."""
        return self.channels + self.code_channels

    def to_dict(self) -> dict[str, float | int | str]:
        """Return the config as a plain dict (for checkpoints); ``code_channels`` only where a model has codes.

        ``lattice`` and ``mask`` only where they are not the defaults, so a square model's checkpoint keeps its bytes.
        """
        out: dict[str, float | int | str] = asdict(self)
        if not self.code_channels:
            del out["code_channels"]
        if self.lattice == SQUARE.name:
            del out["lattice"]
        if self.mask == MASK_CELL:
            del out["mask"]
        if self.lap_gain == 1.0:
            del out["lap_gain"]
        return out


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
        code_channels: int = 0,
        lattice: str = SQUARE.name,
        mask: str = MASK_CELL,
        lap_gain: float = 1.0,
    ) -> None:
        super().__init__()
        if channels < 4:
            raise ValueError("an NCA needs at least 4 channels (RGBA)")
        if code_channels < 0:
            raise ValueError("code_channels must be >= 0")
        if lap_gain != 1.0 and lattice == SQUARE.name:
            raise ValueError("lap_gain applies to a hex model's lap6 perception only")
        self.config = NCAConfig(channels, hidden, fire_rate, alive_threshold, code_channels, lattice, mask, lap_gain)
        kernel = hex_perception_kernel(channels, lap_gain) if self.config.hex else _perception_kernel(channels)
        self.register_buffer("kernel", kernel, persistent=False)
        self.w1 = nn.Conv2d(self.config.perception_channels + code_channels, hidden, 1)
        self.w2 = nn.Conv2d(hidden, channels, 1, bias=False)
        nn.init.zeros_(self.w2.weight)

    @classmethod
    def from_config(cls, config: NCAConfig) -> NCA:
        """Build an untrained NCA from a config."""
        return cls(**asdict(config))

    def perceive(self, state: torch.Tensor) -> torch.Tensor:
        """Perception ``(N, 3C, H, W)`` (hex: ``(N, 2C, H, W)``) of the NCA channels of ``(N, C[+D], H, W)``."""
        c = self.config.channels
        x = state if state.shape[1] == c else state[:, :c]
        return F.conv2d(x, self.kernel, padding=1, groups=c)

    def relay(self, state: torch.Tensor) -> torch.Tensor:
        """The relayed code ``(N, D, H, W)``: max-pool 3x3 (hex: :func:`hex_max`) of the code channels of ``state``."""
        return self.neighbourhood_max(state[:, self.config.channels :])

    def neighbourhood_max(self, x: torch.Tensor) -> torch.Tensor:
        """Max of ``x`` ``(N, K, H, W)`` over each cell's neighbourhood: the 3x3 square, or the cell and its six."""
        if self.config.hex:
            return hex_max(x)
        return F.max_pool2d(x, 3, stride=1, padding=1)

    def update(self, state: torch.Tensor) -> torch.Tensor:
        """The residual update ``(N, C, H, W)`` of the NCA channels proposed for every cell."""
        percept = self.perceive(state)
        if self.config.code_channels:
            percept = torch.cat([percept, self.relay(state)], dim=1)
        return self.w2(torch.relu(self.w1(percept)))

    def alive(self, state: torch.Tensor) -> torch.Tensor:
        """Boolean ``(N, 1, H, W)``: max-pool 3x3 (hex: over the cell and its six) of alpha above the threshold."""
        alpha = state[:, 3:4]
        return self.neighbourhood_max(alpha) > self.config.alive_threshold

    def forward(self, state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One step: ``state`` ``(N, C[+D], H, W)``, ``mask`` ``(N, 1, H, W)`` -> ``(N, C[+D], H, W)``."""
        pre = self.alive(state)
        if not self.config.code_channels:
            state = state + self.update(state) * mask
            post = self.alive(state)
            return state * (pre & post).to(state.dtype)
        relay = self.relay(state)
        hidden = torch.relu(self.w1(torch.cat([self.perceive(state), relay], dim=1)))
        x = state[:, : self.config.channels] + self.w2(hidden) * mask
        post = self.alive(x)
        return torch.cat([x, relay], dim=1) * (pre & post).to(x.dtype)

    def forward_nhwc(self, state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The same step as :meth:`forward` in channels-last layout (the fast training path).

        ``state`` ``(N, H, W, C)`` and ``mask`` ``(N, H, W, 1)`` (0/1) -> ``(N, H, W, C)``.
        Perception is computed with separable shifted sums, and the update
        network runs only on the cells whose update can matter: those that
        fire and lie within one cell of a live cell (any other cell is zeroed
        by the alive masks, or adds ``update * 0``). That is the same result
        as the dense step, at a fraction of the matrix work.
        """
        c, hidden, d = self.config.channels, self.config.hidden, self.config.code_channels
        n, height, width, _ = state.shape
        full = state
        if d:
            state = full[..., :c]
            relay = self.neighbourhood_max(full[..., c:].permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        if self.config.hex:
            # Interleave as channel 2*c + k to match the depthwise kernel's order.
            lap = lap6_nhwc(state, self.config.lap_gain)
            percept = torch.stack([state, lap], dim=-1).reshape(-1, 2 * c)  # (N*H*W, 2C)
        else:
            p = F.pad(state, (0, 0, 1, 1, 1, 1))  # zero pad H and W: (N, H+2, W+2, C)
            diff_w = p[:, :, 2:] - p[:, :, :-2]  # (N, H+2, W, C)
            smooth_w = p[:, :, :-2] + 2.0 * p[:, :, 1:-1] + p[:, :, 2:]
            sobel_x = (diff_w[:, :-2] + 2.0 * diff_w[:, 1:-1] + diff_w[:, 2:]) * 0.125
            sobel_y = (smooth_w[:, 2:] - smooth_w[:, :-2]) * 0.125
            # Interleave as channel 3*c + k to match the depthwise kernel's order.
            percept = torch.stack([state, sobel_x, sobel_y], dim=-1).reshape(-1, 3 * c)  # (N*H*W, 3C)
        if d:
            percept = torch.cat([percept, relay.reshape(-1, d)], dim=1)  # (N*H*W, 3C + D)
        pre = self._alive_nhwc(state)  # (N, H, W, 1)
        near = self.neighbourhood_max(pre.squeeze(-1).unsqueeze(1).to(state.dtype)) > 0
        active = torch.nonzero((near.squeeze(1).unsqueeze(-1) & (mask != 0)).reshape(-1)).squeeze(1)
        w1 = self.w1.weight.view(hidden, self.config.perception_channels + d)
        h = torch.relu(F.linear(percept.index_select(0, active), w1, self.w1.bias))
        rows = F.linear(h, self.w2.weight.view(c, hidden)).to(state.dtype)  # float32 also under bf16 autocast
        rows = rows * mask.reshape(-1, 1).index_select(0, active)
        update = torch.zeros((n * height * width, c), dtype=state.dtype, device=state.device)
        state = state + update.index_copy(0, active, rows).view(n, height, width, c)
        if d:
            return torch.cat([state, relay], dim=-1) * (pre & self._alive_nhwc(state)).to(state.dtype)
        return state * (pre & self._alive_nhwc(state)).to(state.dtype)

    def _alive_nhwc(self, state: torch.Tensor) -> torch.Tensor:
        """Boolean ``(N, H, W, 1)`` alive mask of a channels-last state."""
        alpha = state[..., 3].unsqueeze(1)  # (N, 1, H, W)
        pooled = self.neighbourhood_max(alpha)
        return (pooled > self.config.alive_threshold).squeeze(1).unsqueeze(-1)

    def random_mask(self, state: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A Bernoulli(fire_rate) update mask ``(N, 1, H, W)`` shaped like ``state``; mask kind ``orbit``: per orbit."""
        n, _, h, w = state.shape
        u = torch.rand((n, 1, h, w), generator=generator, device=state.device)
        if self.config.mask == MASK_ORBIT:
            rep = torch.from_numpy(hex_orbits(h, w).copy()).to(state.device)
            u = u.reshape(n, 1, h * w)[..., rep].reshape(n, 1, h, w)
        return (u < self.config.fire_rate).to(state.dtype)


def seed_state(
    n: int, size: int | tuple[int, int], channels: int = 16, codes: torch.Tensor | None = None
) -> torch.Tensor:
    """The seed grid ``(n, channels [+ D], H, W)``: zeros but the centre cell, whose channels 3.. are 1.

    With ``codes`` ``(n, D)`` (a family model), D code channels follow the ``channels`` NCA
    channels and the centre cell carries sample i's code.
    """
    h, w = (size, size) if isinstance(size, int) else size
    d = 0 if codes is None else int(codes.shape[1])
    x = torch.zeros((n, channels + d, h, w))
    x[:, 3:channels, h // 2, w // 2] = 1.0
    if codes is not None:
        x[:, channels:, h // 2, w // 2] = codes.to(x.dtype)
    return x
