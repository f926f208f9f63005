"""Compressed model variants: reduced precision, dynamic int8 quantization, magnitude pruning.

`spec` (the variant grammar) and `expand` (plan expansion) are torch-free; `build`, `size` and
`adapter` import torch and run only when a variant is built. See docs/variants.md.
"""
