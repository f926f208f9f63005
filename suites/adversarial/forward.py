"""The forward passes the attacks use: shape-checked, gradient-safe, and averaged for randomised
models (expectation over transformation, EOT).

Every native attack calls the model through `Forward`, never `module(x)` directly, so that:
- logits of the wrong shape under attack (a different batch size, a different width, not a
  matrix) stop the job with one line naming the model instead of an index error deep in an attack;
- an input gradient that autograd returns expanded (a `.sum()` in the graph), non-contiguous or
  not at all (the output does not depend on the input) is read out of place and never crashes;
  a missing gradient counts as zero, which the `zero_gradients` check then reports;
- for a nondeterministic forward pass (a randomised defence) every gradient is the mean over `draws`
  passes and every decision is the argmax of the mean softmax over `draws` passes (EOT), the
  standard way to attack and to score a randomised model (Athalye et al. 2018);
- a model that edits its input in place never changes what an attack, the verifier or another
  model sees: the adapter path gets its copy from the runner's `CheckedAdapter`
  (harness/core/model_calls.py, `private_inputs`); the module path, which calls the network
  directly, makes its own (a clone without a graph, a non-leaf copy on the gradient path,
  so autograd follows the edit); a failure inside the model's own code (an in-place edit of a
  tensor autograd still needs, a raise) stops the job with one line naming the model and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import torch

from harness.core.adapter import ModelAdapter
from harness.core.errors import ModelCallError, ModelOutputError
from harness.core.model_calls import calling_model

Loss = Callable[[torch.Tensor], torch.Tensor]
"""Per-sample loss (B,) from logits (B, C); attacks ascend it."""


@dataclass(frozen=True, kw_only=True)
class Forward:
    """The model as the attacks see it: `logits` (decisions, no graph) and `loss_grad`."""

    adapter: ModelAdapter
    module: torch.nn.Module | None  # None: black-box (no gradients)
    num_classes: int
    draws: int = 1  # EOT draws; 1 for a deterministic forward pass

    @property
    def name(self) -> str:
        return self.adapter.name

    @property
    def eot(self) -> bool:
        return self.draws > 1

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for the attacks' own decisions, without a graph (the module when white-box,
        else the adapter); EOT: log of the mean softmax over draws."""
        return self._averaged(
            x, self._module_once if self.module is not None else self._adapter_once
        )

    def paired_logits(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`logits` of two batches of the same shape; for a randomised model under the same
        draws of torch's global generator (common random numbers: the model's noise, a dropout
        mask drawn from it, is the same for row i of `a` and of `b`), so that comparing the two
        compares the inputs, not two draws. The draws are fresh each call (the seed comes from
        the generator) and the generator goes on as if one batch had been scored."""
        if not self.eot:
            return self.logits(a), self.logits(b)
        seed = int(torch.randint(0, 2**62, (1,)))
        devices = [a.device] if a.device.type == "cuda" else []
        out = []
        for batch in (a, b):
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                out.append(self.logits(batch))
        return out[0], out[1]

    def decide(self, x: torch.Tensor) -> torch.Tensor:
        """The adapter's own logits (clean pass, verification of every candidate); EOT-averaged."""
        return self._averaged(x, self._adapter_once)

    def _averaged(
        self, x: torch.Tensor, once: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        if len(x) == 0:
            return torch.zeros(0, self.num_classes, device=x.device)
        if not self.eot:
            return once(x)
        probs = torch.stack([torch.softmax(once(x).double(), 1) for _ in range(self.draws)])
        return probs.mean(0).log().float()

    def _module_once(self, x: torch.Tensor) -> torch.Tensor:
        assert self.module is not None
        with torch.inference_mode(), self._calling("its forward pass"):
            # the network is called directly: it gets its own copy, as CheckedAdapter gives one
            return self.checked(self.module(x.clone()), len(x))

    def _adapter_once(self, x: torch.Tensor) -> torch.Tensor:
        # the runner's CheckedAdapter hands the model its own copy (private_inputs)
        return self.checked(self.adapter.logits(x), len(x)).to(x.device)

    def _calling(self, during: str) -> AbstractContextManager[None]:
        return _calling(self.name, f"{during} under adversarial attack")

    def checked(self, out: object, n: int) -> torch.Tensor:
        """`out` as float logits of shape (n, num_classes), or one line saying what came back."""
        if not isinstance(out, torch.Tensor):
            raise ModelOutputError(
                f"model {self.name!r} returned a {type(out).__name__} under adversarial attack; "
                "expected a logits tensor"
            )
        if out.ndim != 2 or out.shape[0] != n or out.shape[1] != self.num_classes:
            raise ModelOutputError(
                f"model {self.name!r} returned logits of shape {tuple(out.shape)} for a batch of "
                f"{n} perturbed inputs under adversarial attack; expected ({n}, "
                f"{self.num_classes}) as on clean inputs"
            )
        return out if out.dtype == torch.float32 else out.float()

    def loss_grad(
        self, x: torch.Tensor, loss: Loss, *, finite: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(decision logits, loss, input gradient of the loss) at `x`, all detached.

        Under EOT the gradient and the loss are means over `draws` passes and the logits are the
        log mean softmax. The gradient is finite (NaN/inf read as 0; `finite=False` keeps them,
        for the checks to count), contiguous and owned.
        """
        assert self.module is not None, "gradients need a white-box model"
        grads: torch.Tensor | None = None
        losses: torch.Tensor | None = None
        probs: torch.Tensor | None = None
        for _ in range(self.draws):
            logits, value, grad = self._loss_grad_once(x, loss, finite)
            grads = grad if grads is None else grads + grad
            losses = value if losses is None else losses + value
            if self.eot:
                p = torch.softmax(logits.double(), 1)
                probs = p if probs is None else probs + p
            else:
                probs = logits
        assert grads is not None and losses is not None and probs is not None
        if not self.eot:
            return probs, losses, grads
        return (probs / self.draws).log().float(), losses / self.draws, grads / self.draws

    def _loss_grad_once(
        self, x: torch.Tensor, loss: Loss, finite: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        assert self.module is not None
        xa = x.detach().clone().requires_grad_(True)
        with torch.enable_grad(), self._calling("its forward and backward pass"):
            # the module gets a non-leaf copy: an in-place edit of its input is then legal, and
            # autograd differentiates through it back to `xa`
            logits = self.checked(self.module(xa.clone()), len(x))
            value = loss(logits)
            grad: torch.Tensor | None = None
            if value.requires_grad:
                (grad,) = torch.autograd.grad(value.sum(), xa, allow_unused=True)
        if grad is None:  # the output does not depend on the input at all
            grad = torch.zeros_like(x)
        # Out of place on purpose: autograd may hand back an expanded view (stride 0) or a
        # non-contiguous tensor, which in-place ops such as sign_() refuse.
        grad = grad.detach().to(x.dtype)
        if finite:
            grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)
        return logits.detach(), value.detach(), grad.contiguous()


@contextmanager
def _calling(model: str, during: str) -> Iterator[None]:
    """`calling_model` for the white-box path, with an in-place edit named and its fix."""
    try:
        with calling_model(model, during):
            yield
    except ModelCallError as failure:
        cause = failure.__cause__
        text = str(cause).replace("in-place", "inplace") if cause is not None else ""
        if "Inference tensors cannot be saved for backward" in text:
            raise ModelCallError(
                f"model {model!r} holds tensors created under torch.inference_mode() (its "
                f"parameters or buffers), which autograd cannot differentiate through during "
                f"{during}; build or load the model outside torch.inference_mode() "
                "(torch.no_grad() is fine)",
                detail=failure.detail,
            ) from cause
        if "inplace operation" not in text:
            raise
        raise ModelCallError(
            f"model {model!r} modifies a tensor in place that autograd needs during {during} "
            f"({type(cause).__name__}); make that step of its forward pass out of place (e.g. "
            "x = x * 2 instead of x.mul_(2), torch.relu(x) instead of ReLU(inplace=True))",
            detail=failure.detail,
        ) from cause


def margin_loss(y: torch.Tensor) -> Loss:
    """Best other logit minus the true logit (positive once misclassified)."""

    def loss(logits: torch.Tensor) -> torch.Tensor:
        true = logits.gather(1, y[:, None]).squeeze(1)
        other = logits.masked_fill(_one_hot(y, logits.shape[1]), -torch.inf).amax(1)
        return other - true

    return loss


def cross_entropy(y: torch.Tensor) -> Loss:
    def loss(logits: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(logits, y, reduction="none")

    return loss


def _one_hot(y: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(y, classes).bool()
