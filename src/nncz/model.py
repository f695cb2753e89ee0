"""The residual MLP that maps standardised photometric features to logits over redshift bins."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "int8")  # of inference: see inference_copy
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}


class ResidualBlock(nn.Module):
    """Linear -> BatchNorm -> activation -> Dropout, plus a skip connection.

    The skip is the identity when the widths match, a bias-free linear projection otherwise.
    """

    def __init__(self, n_in: int, n_out: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.norm = nn.BatchNorm1d(n_out)
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Identity() if n_in == n_out else nn.Linear(n_in, n_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.norm(self.linear(x)))) + self.skip(x)


class ResidualMLP(nn.Module):
    """Residual multilayer perceptron with one output per redshift bin (or one for regression).

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Number of outputs: the number of redshift bins for NNC, 1 for the regression baseline.
    hidden : sequence of int
        Widths of the residual blocks (default the method's [512, 256, 128, 64]).
    dropout : float
        Dropout probability after each block's activation.
    activation : str
        One of :data:`ACTIVATIONS`.
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        hidden: Sequence[int] = (512, 256, 128, 64),
        dropout: float = 0.1,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} unknown; choose from {list(ACTIVATIONS)}")
        widths = [n_features, *hidden]
        self.blocks = nn.ModuleList(
            ResidualBlock(a, b, dropout, activation)
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.head = nn.Linear(widths[-1], n_outputs)
        # A zero head starts every object at the uniform PDF. The CRPS gradient on the logits is
        # p_k times a cumulative (smooth in k) term, so from a uniform start neighbouring bins
        # move together; a random head instead freezes its random bin-to-bin pattern into
        # comb-like PDFs (measured: validation NLL 11.0 vs 3.6 nats on a test catalog).
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class FoldedMLP(nn.Module):
    """Inference-only copy of a :class:`ResidualMLP`: batch norm folded, skips fused.

    In evaluation mode ``BN(Wx + b) = W'x + b'`` with ``W' = s W`` and ``b' = s (b - mu) + beta``
    where ``s = gamma / sqrt(var + eps)``; dropout is the identity. Where a block has a linear
    skip projection ``P``, ``W'`` and ``P`` are stacked into one matrix so that the block is a
    single matrix multiply, ``[h | k] = x [W' | P]^T + [b' | 0]``, then ``act(h) + k`` in place
    (the activation too, where torch has it in place: allocating ``act(h)`` cost ~4% of the
    network's time at 1,024 rows, benchmarks/README.md).
    """

    def __init__(self, model: ResidualMLP) -> None:
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.widths: list[int] = []
        self.identity_skip: list[bool] = []
        self.activations = nn.ModuleList()
        for block in model.blocks:
            folded = _fold(block.linear, block.norm)
            weight, bias = folded.weight.detach(), folded.bias.detach()
            identity = isinstance(block.skip, nn.Identity)
            if not identity:
                weight = torch.cat([weight, block.skip.weight.detach()])
                bias = torch.cat([bias, torch.zeros(block.linear.out_features)])
            self.weights.append(nn.Parameter(weight.t().contiguous(), requires_grad=False))
            self.biases.append(nn.Parameter(bias, requires_grad=False))
            self.widths.append(block.linear.out_features)
            self.identity_skip.append(identity)
            self.activations.append(_in_place(block.activation))
        self.head_weight = nn.Parameter(model.head.weight.detach().t().contiguous(),
                                        requires_grad=False)
        self.head_bias = nn.Parameter(model.head.bias.detach().clone(), requires_grad=False)
        self.eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_outputs) float32 of ``x`` (N, n_features) float32; each layer computes
        in its weight's dtype (bf16 layers: see :func:`inference_copy`)."""
        for weight, bias, width, identity, activation in zip(
            self.weights, self.biases, self.widths, self.identity_skip, self.activations,
            strict=True,
        ):
            stacked = torch.addmm(bias, x.to(weight.dtype), weight)
            hidden = activation(stacked[:, :width])
            x = hidden.add_(x.to(weight.dtype) if identity else stacked[:, width:])
        return torch.addmm(self.head_bias, x.to(self.head_weight.dtype), self.head_weight).float()


class QuantizedMLP(nn.Module):
    """Int8 copy of a :class:`FoldedMLP` (torch dynamic quantization of the hidden blocks).

    The hidden blocks after the first are quantized: weights per output channel (symmetric
    int8), activations per batch on the fly, int32 accumulation (fbgemm; VNNI instructions
    where the CPU has them). The first block (the raw features: ~3% of the FLOPs) and the head
    (the logits) stay float32, as do biases, activation functions and skips. Inference only.
    """

    def __init__(self, folded: FoldedMLP) -> None:
        super().__init__()
        self.folded = folded
        self.packed = [None] + [_pack_int8(w, b) for w, b in zip(
            folded.weights[1:], folded.biases[1:], strict=True)]
        self.eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_outputs) float32 of ``x`` (N, n_features) float32."""
        f = self.folded
        for packed, weight, bias, width, identity, activation in zip(
            self.packed, f.weights, f.biases, f.widths, f.identity_skip, f.activations,
            strict=True,
        ):
            if packed is None:
                stacked = torch.addmm(bias, x, weight)
            else:
                stacked = torch.ops.quantized.linear_dynamic(x, packed, False)
            hidden = activation(stacked[:, :width])
            x = hidden.add_(x if identity else stacked[:, width:])
        return torch.addmm(f.head_bias, x, f.head_weight)


def _pack_int8(weight_in_out: torch.Tensor, bias: torch.Tensor):
    """fbgemm-packed per-channel int8 weight of a (n_in, n_out) float matrix and its bias."""
    weight = weight_in_out.detach().float().t().contiguous()  # (n_out, n_in)
    scales = weight.abs().amax(dim=1).clamp_min(1e-12) / 127.0
    with warnings.catch_warnings():  # torch >= 2.10 marks quantized tensors deprecated
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch.quantize_per_channel(weight, scales.double(),
                                               torch.zeros(len(scales), dtype=torch.int64), 0,
                                               torch.qint8)
    return torch.ops.quantized.linear_prepack(quantized, bias.detach().float().contiguous())


def inference_copy(folded: FoldedMLP, precision: str) -> nn.Module:
    """The network to run at ``precision``: ``"fp32"`` (``folded`` itself), ``"bf16"`` or
    ``"int8"`` (:class:`QuantizedMLP`).

    In both reduced precisions the first block (which sees the features themselves) and the
    head (the logits) stay float32: on SDSS BOSS, a bf16 first block and head cost +0.7% in
    sigma_NMAD, float32 ones +0.1% (benchmarks/README.md), for ~3% + 7% of the FLOPs.
    """
    if precision == "fp32":
        return folded
    if precision == "bf16":
        copied = copy.deepcopy(folded)
        for weight, bias in zip(copied.weights[1:], copied.biases[1:], strict=True):
            weight.data, bias.data = weight.data.bfloat16(), bias.data.bfloat16()
        return copied
    if precision == "int8":
        return QuantizedMLP(folded)
    raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")


def _in_place(activation: nn.Module) -> nn.Module:
    """A copy of ``activation`` that overwrites its input, where the module has that option."""
    if not hasattr(activation, "inplace"):
        return activation
    copied = copy.copy(activation)
    copied.inplace = True
    return copied


def _fold(linear: nn.Linear, norm: nn.BatchNorm1d) -> nn.Linear:
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    folded = nn.Linear(linear.in_features, linear.out_features)
    with torch.no_grad():
        folded.weight.copy_(linear.weight * scale[:, None])
        folded.bias.copy_((linear.bias - norm.running_mean) * scale + norm.bias)
    return folded


def flops_per_sample(model: ResidualMLP) -> int:
    """Multiply-add FLOPs (2 per MAC) of one forward pass, counting the linears only."""
    total = 0
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features
    return total
