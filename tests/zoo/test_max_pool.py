"""The zoo CNNs' 2x2 max-pool against `nn.MaxPool2d(2)`: bit-identical values with and without
gradients and identical gradients, with ties (most windows after a ReLU, saturated MNIST
backgrounds), NaN, signed zeros and odd sizes, so every number on the zoo models stays the same."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.zoo.architectures import MaxPool2x2, mnist_cnn


def _pair(x: torch.Tensor, upstream: torch.Tensor) -> tuple[torch.Tensor, ...]:
    outs = []
    for pool in (nn.MaxPool2d(2), MaxPool2x2()):
        leaf = x.clone().requires_grad_(True)
        y = pool(leaf)
        y.backward(upstream)
        assert leaf.grad is not None
        outs += [y.detach(), leaf.grad]
    return tuple(outs)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal bit for bit: NaN where NaN, and the sign of every zero."""
    return a.shape == b.shape and bool(
        torch.equal(torch.isnan(a), torch.isnan(b))
        and torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))
        and torch.equal(torch.signbit(a), torch.signbit(b))
    )


@pytest.mark.parametrize("shape", [(3, 4, 8, 8), (2, 3, 7, 9), (5, 16, 28, 28), (1, 1, 2, 2)])
@pytest.mark.parametrize("levels", [None, 3])  # continuous values, or 3 levels: ties everywhere
def test_values_and_gradients_equal_max_pool2d(shape: tuple[int, ...], levels: int | None) -> None:
    gen = torch.Generator().manual_seed(sum(shape) + (levels or 0))
    x = torch.randn(shape, generator=gen)
    if levels is not None:
        x = torch.randint(0, levels, shape, generator=gen).float().relu()
    out_shape = (*shape[:2], shape[2] // 2, shape[3] // 2)
    upstream = torch.randn(out_shape, generator=gen)
    upstream[..., 0, :] = -0.0  # negative zeros arrive in the gradient
    ref_y, ref_g, y, g = _pair(x, upstream)
    assert _same(y, ref_y) and _same(g, ref_g)
    with torch.no_grad():  # the strided path
        assert _same(MaxPool2x2()(x), nn.MaxPool2d(2)(x))
    assert _same(MaxPool2x2()(x), ref_y)  # an input without gradients, grad mode on


def test_nan_propagates_and_takes_the_gradient_as_in_torchs_kernel() -> None:
    x = torch.tensor([[[[1.0, float("nan")], [float("nan"), 5.0]]]]).repeat(1, 1, 2, 2)
    x[..., 2, 2] = float("nan")  # a window with a NaN first
    x[..., 0, 3] = 9.0  # a larger value after a NaN
    ref_y, ref_g, y, g = _pair(x, torch.ones(1, 1, 2, 2))
    assert _same(y, ref_y) and _same(g, ref_g)
    with torch.no_grad():
        assert _same(MaxPool2x2()(x), ref_y)


def test_mnist_cnn_input_gradients_equal_the_nn_max_pool_network() -> None:
    torch.manual_seed(0)
    ours = mnist_cnn().eval()
    reference = mnist_cnn().eval()
    reference.load_state_dict(ours.state_dict())
    for i, layer in enumerate(reference):
        if isinstance(layer, MaxPool2x2):
            reference[i] = nn.MaxPool2d(2)
    x = (torch.rand(32, 1, 28, 28) > 0.7).float()  # saturated backgrounds, like MNIST's
    grads = []
    for net in (ours, reference):
        leaf = x.clone().requires_grad_(True)
        logits = net(leaf)
        torch.nn.functional.cross_entropy(logits, torch.arange(32) % 10).backward()
        grads.append((logits.detach(), leaf.grad))
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))
