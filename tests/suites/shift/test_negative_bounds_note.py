"""Image corruptions on inputs normalised per channel ((x - mean) / std, bounds about
[-2.1, 2.6]) are computed on the box mapped linearly to [0, 1], another image than the photo:
the same images gave another mean corruption accuracy (0.710 against 0.731 in [0, 1]) with
nothing said. A note says what the corruptions act on and what to feed instead."""

from __future__ import annotations

import torch

from harness.run.api import evaluate

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class Undo(torch.nn.Module):
    def __init__(self, normalised: bool) -> None:
        super().__init__()
        self.normalised = normalised
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalised:
            x = x * STD + MEAN
        return self.fc(x.mean(dim=(2, 3)))


def _shift_notes(normalised: bool) -> list[str]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(12, 3, 8, 8, generator=gen)
    y = torch.arange(12) % 2
    bounds = (0.0, 1.0)
    if normalised:
        x = (x - MEAN) / STD
        bounds = (float(((0 - MEAN) / STD).min()), float(((1 - MEAN) / STD).max()))
    torch.manual_seed(0)
    out = evaluate(
        Undo(normalised),
        data=(x, y),
        name="normalised" if normalised else "unit",
        bounds=bounds,
        suites={"shift": {"corruptions": ["contrast"], "severities": [1]}},
        device="cpu",
        bootstrap_resamples=0,
    )
    return out.results["shift"].notes


def test_corruptions_on_normalised_images_say_what_they_act_on() -> None:
    notes = _shift_notes(normalised=True)
    assert any(
        n.startswith("task 'normalised' gives images in [-2.118, 2.64]: the corruptions act on")
        and "normalise inside the model" in n
        for n in notes
    ), notes
    assert not any("mapped linearly" in n for n in _shift_notes(normalised=False))
