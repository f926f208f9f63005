"""Batched, on-device ImageNet-C family image corruptions (Hendrycks & Dietterich, 2019).

The 15 ImageNet-C corruptions and the 4 extra ("validation") ones, at severities 1..5, written as
batched torch operations that run on whatever device the images live on. Definitions and
parameters follow the reference code (the ``imagecorruptions`` package for ImageNet-sized inputs,
``make_cifar_c.py`` for small ones); see ``docs/corruptions.md`` for the size-scaling rule and the
list of known deviations.

Randomness comes only from the per-sample ``seeds`` through the counter-based generator in
``suites.counter_rng``: a sample gets bit-identical output alone or inside any batch, on a rerun,
a resumed run, and regardless of global RNG state.

One module per family (`noise`, `blur`, `weather`, `digital`, with `jpeg`), the shared filters
(`filters`, `colour`, `streams`), the published tables (`tables`) and their size rule (`params`),
the name -> implementation registry (`registry`) and the checked entry point (`apply.corrupt`).
"""

from harness.suites.shift.image_corruptions.apply import MIN_SIDE, corrupt, fits_out
from harness.suites.shift.image_corruptions.params import Regime, resolve_params, resolve_regime
from harness.suites.shift.image_corruptions.registry import (
    CORRUPTIONS,
    SEVERITIES,
    UnknownCorruptionError,
)

__all__ = [
    "CORRUPTIONS",
    "MIN_SIDE",
    "SEVERITIES",
    "Regime",
    "UnknownCorruptionError",
    "corrupt",
    "fits_out",
    "resolve_params",
    "resolve_regime",
]
