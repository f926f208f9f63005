"""Small plain-torch architectures of the reference zoo (no torchvision).

Each factory takes keyword arguments with defaults and returns a fresh, untrained `nn.Module`.
The networks expect *normalized* inputs: the torch adapter applies the catalogue's mean/std first.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class MaxPool2x2(nn.Module):
    """`nn.MaxPool2d(2)` with the same values and gradients, and a faster forward-only pass.

    torch's CPU max-pool over NCHW tensors runs a scalar loop: 16 ms for a batch of 200 x 16 x
    28 x 28 on one thread. Without gradients (the forward passes of score-based attacks, of
    accuracy and of shift), each window's maximum is taken over its four corners as strided
    views, which gives the same values in 2 ms (NaN propagates in both). With gradients it is
    torch's own kernel, so attacks and training take exactly the same steps; a strided version
    with torch's tie rule was slower there (tests/zoo/test_max_pool.py checks both paths).
    Odd trailing rows and columns are dropped, as `nn.MaxPool2d(2)` drops them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return functional.max_pool2d(x, 2)
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        top = torch.maximum(x[..., 0:h:2, 0:w:2], x[..., 0:h:2, 1:w:2])
        return torch.maximum(top, torch.maximum(x[..., 1:h:2, 0:w:2], x[..., 1:h:2, 1:w:2]))


def digits_mlp(*, hidden: int = 128, num_classes: int = 10) -> nn.Module:
    """64-`hidden`-10 MLP for 1x8x8 digits (flattens inside)."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def digits_cnn(*, width: int = 32, hidden: int = 128, num_classes: int = 10) -> nn.Module:
    """Two 3x3 convs (`width`, 2*`width` channels), 2x2 max-pool, then a `hidden`-unit MLP head."""
    return nn.Sequential(
        nn.Conv2d(1, width, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 2 * width, kernel_size=3, padding=1),
        nn.ReLU(),
        MaxPool2x2(),
        nn.Flatten(),
        nn.Linear(2 * width * 4 * 4, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def mnist_cnn(*, width: int = 16, hidden: int = 64, num_classes: int = 10) -> nn.Module:
    """LeNet-style CNN for 1x28x28 digits: two 5x5 convs (`width`, 2*`width` channels), each
    followed by a 2x2 max-pool, then a `hidden`-unit MLP head. The layout of Madry et al.'s MNIST
    network (conv32-conv64-fc1024) scaled down to a 4,000-image training set and a CPU budget."""
    return nn.Sequential(
        nn.Conv2d(1, width, kernel_size=5, padding=2),
        nn.ReLU(),
        MaxPool2x2(),
        nn.Conv2d(width, 2 * width, kernel_size=5, padding=2),
        nn.ReLU(),
        MaxPool2x2(),
        nn.Flatten(),
        nn.Linear(2 * width * 7 * 7, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def diabetes_logreg(*, num_features: int = 10, num_classes: int = 2) -> nn.Module:
    """Multinomial logistic regression: one linear layer."""
    return nn.Sequential(nn.Linear(num_features, num_classes))


def diabetes_mlp(*, num_features: int = 10, hidden: int = 32, num_classes: int = 2) -> nn.Module:
    """`num_features`-`hidden`-`hidden`-2 MLP with ReLU."""
    return nn.Sequential(
        nn.Linear(num_features, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )
