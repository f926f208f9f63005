"""Deliberately broken models for the validity checks, plus an honest control.

Importable as `tests.suites.adversarial.models:<factory>` from specs. The control is a linear
classifier fitted in closed form (ridge regression on +-1 one-hot targets over the digits training
split: deterministic and a few milliseconds, where an sklearn logistic regression took ~1.5 s per
model on this CPU); each broken model wraps it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from harness.data.builtin import digits_arrays


def control_digits(ridge: float = 1.0) -> nn.Module:
    """Undefended linear classifier on digits (about 91% clean accuracy on the first 100)."""
    x, y = digits_arrays("train")
    flat = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
    feats = torch.cat([flat, torch.ones(len(flat), 1, dtype=flat.dtype)], dim=1)
    targets = torch.nn.functional.one_hot(torch.as_tensor(y), 10).double() * 2 - 1
    gram = feats.T @ feats + ridge * torch.eye(feats.shape[1], dtype=feats.dtype)
    coef = torch.linalg.solve(gram, feats.T @ targets)  # (65, 10)
    model = nn.Sequential(nn.Flatten(), nn.Linear(flat.shape[1], 10))
    with torch.no_grad():
        model[1].weight.copy_(coef[:-1].T.float())
        model[1].bias.copy_(coef[-1].float())
    return model


class _Quantize(nn.Module):
    """Rounds inputs to a few levels: gradients are zero almost everywhere (gradient masking)."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.levels = levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * self.levels) / self.levels


class _Noisy(nn.Module):
    """Adds fresh random noise to the logits on every call (a randomised defence)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.randn_like(x)


class _NaNOffGrid(nn.Module):
    """NaN logits for inputs off the clean 1/16 pixel grid: breaks under any perturbation."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        off = ((x * 16 - torch.round(x * 16)).abs() > 1e-4).flatten(1).any(1)
        return torch.where(off[:, None], torch.full_like(out, float("nan")), out)


def quantized_digits(levels: int = 2) -> nn.Module:
    return nn.Sequential(_Quantize(levels), control_digits())


def probability_digits() -> nn.Module:
    """Returns a saturated softmax (x1000 logits: float32 gradients vanish) instead of logits."""
    return nn.Sequential(control_digits(), _Scale(1000.0), nn.Softmax(dim=1))


class _Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def randomized_digits() -> nn.Module:
    return nn.Sequential(control_digits(), _Noisy())


class _RandomizedDiscretization(nn.Module):
    """Uniform noise of +-1/40, then rounding to 16 levels (randomised discretisation, Zhang and
    Liang 2019): the digits' clean pixels lie on the 1/16 grid, which the noise never moves off,
    so the model is deterministic on clean inputs and random only on perturbed ones."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round((x + (torch.rand_like(x) * 2 - 1) / 40) * 16) / 16


def randomized_off_grid_digits() -> nn.Module:
    return nn.Sequential(_RandomizedDiscretization(), control_digits())


def randomized_surrogate_digits() -> nn.Module:
    """A randomised model whose gradient is masked: the wrong surrogate below, plus logit noise."""
    return nn.Sequential(wrong_surrogate_digits(), _Noisy())


def randomized_zero_grad_digits() -> nn.Module:
    """A randomised model with a straight-through zero gradient, plus logit noise."""
    return nn.Sequential(zero_grad_digits("dense"), _Noisy())


def nan_off_grid_digits() -> nn.Module:
    return _NaNOffGrid(control_digits())


# --- planted models for issue 15: gradients that mislead, crash or vanish ------------------------
def _identity_with_backward(fill: float) -> type[torch.autograd.Function]:
    """An identity forward whose backward hands back `fill` everywhere."""

    class _Identity(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # noqa: ANN001, ANN205
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):  # noqa: ANN001, ANN205
            return torch.full_like(grad, fill)

    return _Identity


# Identity forward, zero backward (a straight-through estimator gone wrong).
_ZeroGrad = _identity_with_backward(0.0)


class _Detached(nn.Module):
    """The inner model on a detached input, plus zero times a function of the input: the output
    is honest, the input gradient is exactly zero. `form` picks how the zero reaches the input:
    `dense` (a zero tensor), `sum` (through `.sum()`: autograd returns an expanded view, stride 0),
    `permuted` (through a transpose: non-contiguous), `none` (the input is not used: no gradient)."""

    def __init__(self, inner: nn.Module, form: str) -> None:
        super().__init__()
        self.inner, self.form = inner, form

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x.detach())
        if self.form == "dense":
            return self.inner(_ZeroGrad.apply(x))
        if self.form == "sum":
            return out + 0 * x.sum()
        if self.form == "permuted":
            return out + 0 * x.transpose(-1, -2)[..., :1, :1].flatten(1)[:, :1]
        return out


def zero_grad_digits(form: str = "dense") -> nn.Module:
    return _Detached(control_digits(), form)


class _Surrogate(nn.Module):
    """Forward of one network, gradient of another (a BPDA-style wrong surrogate)."""

    def __init__(self, forward_net: nn.Module, gradient_net: nn.Module) -> None:
        super().__init__()
        self.forward_net, self.gradient_net = forward_net, gradient_net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        true = self.forward_net(x).detach()
        fake = self.gradient_net(x)
        return true + fake - fake.detach()


def wrong_surrogate_digits() -> nn.Module:
    """Forward of the control, gradient of a differently regularised linear model whose classes
    are rotated by one: gradient attacks walk the wrong way."""
    other = control_digits(ridge=50.0)
    with torch.no_grad():
        other[1].weight.copy_(other[1].weight.roll(1, dims=0))
        other[1].bias.copy_(other[1].bias.roll(1, dims=0))
    return _Surrogate(control_digits(), other)


class _GridHonestSurrogate(nn.Module):
    """The control's forward pass; its own gradient on the digits' clean 1/16 pixel grid, the
    rotated surrogate's off it: honest where a check at the clean inputs looks, misleading
    wherever an attack steps."""

    def __init__(self) -> None:
        super().__init__()
        self.true, self.other = control_digits(), wrong_surrogate_digits().gradient_net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        true = self.true(x)
        on = ((x * 16 - torch.round(x * 16)).abs() <= 1e-4).flatten(1).all(1)[:, None]
        fake = torch.where(on, true, self.other(x))
        return true.detach() + fake - fake.detach()


def grid_honest_surrogate_digits() -> nn.Module:
    return _GridHonestSurrogate()


def saturated_digits() -> nn.Module:
    """Logits scaled by 1000: float32 cross-entropy gradients vanish on confident samples."""
    return nn.Sequential(control_digits(), _Scale(1000.0))


class _WrongShapeUnderAttack(nn.Module):
    """Honest on the task's clean inputs, drops a row for any batch with off-grid inputs."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        off = ((x * 16 - torch.round(x * 16)).abs() > 1e-4).any()
        return out[1:] if bool(off) and len(out) > 1 else out


def wrong_shape_digits() -> nn.Module:
    return _WrongShapeUnderAttack(control_digits())


class _Scale1(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def control_diabetes(scale: float = 1.0, ridge: float = 1.0) -> nn.Module:
    """Linear classifier on diabetes fitted in closed form, for inputs in [0, scale]."""
    from harness.data.builtin import diabetes_arrays

    x, y = diabetes_arrays("train")
    flat = torch.as_tensor(np.asarray(x, dtype=np.float64))
    feats = torch.cat([flat, torch.ones(len(flat), 1, dtype=flat.dtype)], dim=1)
    targets = torch.nn.functional.one_hot(torch.as_tensor(y), 2).double() * 2 - 1
    gram = feats.T @ feats + ridge * torch.eye(feats.shape[1], dtype=feats.dtype)
    coef = torch.linalg.solve(gram, feats.T @ targets)
    linear = nn.Linear(flat.shape[1], 2)
    with torch.no_grad():
        linear.weight.copy_(coef[:-1].T.float())
        linear.bias.copy_(coef[-1].float())
    return nn.Sequential(_Scale1(1.0 / scale), linear)


# --- masked zoo models (issue 39): honest forward pass, gradients from another network -----------
def zoo_network(name: str) -> nn.Module:
    """A zoo model's trained network on raw inputs (its normalisation in front), eval mode."""
    from safetensors.torch import load_file

    from harness.zoo import zoo_models
    from harness.zoo.train import build_network, with_normalize

    net = build_network(name)
    net.load_state_dict(load_file(zoo_models()[name]["weights"]))
    return with_normalize(name, net).eval().requires_grad_(False)


def zoo_surrogate(forward: str, gradient: str, roll: int = 0) -> nn.Module:
    """The forward pass of zoo model `forward` with the input gradient of zoo model `gradient`
    (its classes rolled by `roll`): BPDA with a wrong surrogate. The honest robust accuracy is
    `forward`'s own; gradient attacks are misled, score-based ones are not."""
    other = zoo_network(gradient)
    if roll:
        other = nn.Sequential(other, _Roll(roll))
    return _Surrogate(zoo_network(forward), other)


def zero_grad_network(name: str) -> nn.Module:
    """Zoo model `name`'s forward pass with an input gradient of exactly zero (a straight-through
    estimator gone wrong): honest outputs, nothing for gradient attacks to follow."""
    return _Detached(zoo_network(name), "dense")


class _Roll(nn.Module):
    def __init__(self, shift: int) -> None:
        super().__init__()
        self.shift = shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.roll(self.shift, dims=1)


class _EditsInput(nn.Module):
    """Scales its input in place before the control: the same function as the control on x/2."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(0.5)
        return self.inner(x)


class _Halves(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x * 0.5)


def edits_input_digits() -> nn.Module:
    """Edits its input in place (x.mul_(0.5)): legal for the suite, which hands out copies."""
    return _EditsInput()


def halves_digits() -> nn.Module:
    """The same function as `edits_input_digits`, out of place (the honest twin)."""
    return _Halves()


class _BreaksAutograd(nn.Module):
    """Edits in place a tensor autograd saved for the backward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        square = x * x  # saves x for the backward pass
        x.mul_(0.5)
        return self.inner(square + x - x)


def breaks_autograd_digits() -> nn.Module:
    return _BreaksAutograd()


# Identity forward, NaN backward (an estimator that divides by zero).
_NaNBackward = _identity_with_backward(float("nan"))


def nan_gradient_digits() -> nn.Module:
    """The control's honest forward pass with an input gradient that is NaN everywhere."""
    return _NaNInput(control_digits())


class _NaNInput(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(_NaNBackward.apply(x))


class _SqrtSquared(nn.Module):
    """The control on sqrt(x) ** 2: the same function, but the backward pass of sqrt at 0 is
    inf, so every zero pixel's input gradient is NaN (0 x inf) and the others are honest."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.sqrt(x) ** 2)


def partly_nan_gradient_digits() -> nn.Module:
    """The control's forward pass with NaN input gradients at the zero pixels only."""
    return _SqrtSquared()


class _NaNGradientOffGrid(torch.autograd.Function):
    """Identity forward; the backward pass is NaN at the bright pixels (above 0.5) that are off
    the digits' clean 1/16 grid and honest everywhere else."""

    @staticmethod
    def forward(ctx, x):  # noqa: ANN001, ANN205
        ctx.save_for_backward(x)
        return x.clone()

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        (x,) = ctx.saved_tensors
        off = (x * 16 - torch.round(x * 16)).abs() > 1e-4
        return torch.where(off & (x > 0.5), torch.full_like(grad, float("nan")), grad)


class _NaNGradientOffGridInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(_NaNGradientOffGrid.apply(x))


def nan_off_grid_gradient_digits() -> nn.Module:
    """The control's forward pass; its input gradient is finite at the clean inputs and NaN at
    the bright pixels of any point an attack steps to (off the clean grid)."""
    return _NaNGradientOffGridInput()


class _SomeRowsDetached(nn.Module):
    """The input gradient is zero for every other sample (the output ignores their input)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        odd = (torch.arange(len(x), device=x.device) % 2 == 1).view(-1, *([1] * (x.ndim - 1)))
        return self.inner(torch.where(odd, x.detach(), x))


def some_rows_detached_digits() -> nn.Module:
    return _SomeRowsDetached()


class _BatchCentred(nn.Module):
    """The control on inputs re-centred halfway to their batch mean (test-time normalisation with
    batch statistics): an input's logits depend on the other inputs of its batch."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x - 0.5 * (x.mean(0, keepdim=True) - 0.3))


def batch_centred_digits() -> nn.Module:
    return _BatchCentred()
