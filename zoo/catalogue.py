"""The literal catalogue of the reference zoo, without hashes.

Hashes live in `zoo/weights/SHA256SUMS` (written by `python -m harness.zoo.train`), so retraining changes
only the weights and that file. `weights` is a file name inside `zoo/weights/`; `zoo_models()`
turns it into an absolute path and adds the sha256.

The normalisation constants are the training-split statistics (`python -m harness.zoo.train` checks them):
digits and mnist use one global mean/std over all pixels; diabetes uses per-feature mean/std.
"""

from __future__ import annotations

from typing import Any

DIGITS_NORMALIZE: dict[str, list[float]] = {"mean": [0.304766], "std": [0.375553]}
MNIST_NORMALIZE: dict[str, list[float]] = {"mean": [0.131141], "std": [0.308319]}
MNIST_SEEN_NORMALIZE: dict[str, list[float]] = {"mean": [0.131789], "std": [0.309189]}
DIABETES_NORMALIZE: dict[str, list[float]] = {
    "mean": [
        0.508302,
        0.464151,
        0.352877,
        0.446947,
        0.411751,
        0.370541,
        0.392798,
        0.295851,
        0.494274,
        0.497942,
    ],
    "std": [
        0.224571,
        0.498713,
        0.178669,
        0.191731,
        0.188031,
        0.155239,
        0.175026,
        0.188083,
        0.188303,
        0.176605,
    ],
}

_DIGITS: dict[str, Any] = {
    "adapter": "torch",
    "tasks": ["digits"],
    "input_shape": [1, 8, 8],
    "bounds": [0.0, 1.0],
    "modality": "image",
}
_MNIST: dict[str, Any] = {
    "adapter": "torch",
    "tasks": ["mnist"],
    "input_shape": [1, 28, 28],
    "bounds": [0.0, 1.0],
    "modality": "image",
}
_DIABETES: dict[str, Any] = {
    "adapter": "torch",
    "tasks": ["diabetes"],
    "input_shape": [10],
    "bounds": [0.0, 1.0],
    "modality": "tabular",
}

CATALOGUE: dict[str, dict[str, Any]] = {
    "digits-mlp": {
        **_DIGITS,
        "factory": "harness.zoo.architectures:digits_mlp",
        "factory_args": {"hidden": 128},
        "weights": "digits-mlp.safetensors",
        "normalize": DIGITS_NORMALIZE,
        "description": "MLP 64-128-10 (9.6k params); standard training, Adam + cosine LR, 40 epochs",
    },
    "digits-cnn": {
        **_DIGITS,
        "factory": "harness.zoo.architectures:digits_cnn",
        "factory_args": {"width": 32, "hidden": 128},
        "weights": "digits-cnn.safetensors",
        "normalize": DIGITS_NORMALIZE,
        "description": "CNN conv32-conv64-pool-fc128 (151k params); standard training, Adam + cosine LR, 20 epochs",
    },
    "digits-cnn-adv": {
        **_DIGITS,
        "factory": "harness.zoo.architectures:digits_cnn",
        "factory_args": {"width": 32, "hidden": 128},
        "weights": "digits-cnn-adv.safetensors",
        "normalize": DIGITS_NORMALIZE,
        "description": (
            "CNN conv32-conv64-pool-fc128 (151k params); Madry L-inf PGD adversarial training "
            "(PGD-7, eps 0.12 ramped over 5 epochs, inputs in [0, 1]), Adam, 30 epochs"
        ),
    },
    "mnist-cnn": {
        **_MNIST,
        "factory": "harness.zoo.architectures:mnist_cnn",
        "factory_args": {"width": 16, "hidden": 64},
        "weights": "mnist-cnn.safetensors",
        "normalize": MNIST_NORMALIZE,
        "description": "CNN conv16-pool-conv32-pool-fc64 (114k params) on the 4,000 mnist training images; standard training, Adam + cosine LR, 15 epochs",
    },
    "mnist-cnn-adv": {
        **_MNIST,
        "factory": "harness.zoo.architectures:mnist_cnn",
        "factory_args": {"width": 16, "hidden": 64},
        "weights": "mnist-cnn-adv.safetensors",
        "normalize": MNIST_NORMALIZE,
        "description": (
            "CNN conv16-pool-conv32-pool-fc64 (114k params); Madry et al. L-inf PGD adversarial "
            "training at eps 0.3 (inputs in [0, 1]) on the 4,000 mnist training images"
        ),
    },
    "mnist-seen-cnn": {
        **_MNIST,
        "tasks": ["mnist-seen"],
        "factory": "harness.zoo.architectures:mnist_cnn",
        "factory_args": {"width": 16, "hidden": 64, "num_classes": 6},
        "weights": "mnist-seen-cnn.safetensors",
        "normalize": MNIST_SEEN_NORMALIZE,
        "description": (
            "CNN conv16-pool-conv32-pool-fc64 (114k params) trained only on digits 0-5 of the "
            "mnist training images (the open-set benchmark: 6-9 are near OOD); Adam + cosine "
            "LR, 15 epochs"
        ),
    },
    "diabetes-logreg": {
        **_DIABETES,
        "factory": "harness.zoo.architectures:diabetes_logreg",
        "factory_args": {},
        "weights": "diabetes-logreg.safetensors",
        "normalize": DIABETES_NORMALIZE,
        "description": "logistic regression 10->2 (22 params); full-batch Adam + cosine LR, weight decay, 200 epochs",
    },
    "diabetes-mlp": {
        **_DIABETES,
        "factory": "harness.zoo.architectures:diabetes_mlp",
        "factory_args": {"hidden": 32},
        "weights": "diabetes-mlp.safetensors",
        "normalize": DIABETES_NORMALIZE,
        "description": "MLP 10-32-32-2 (1.5k params); Adam + cosine LR, weight decay, 60 epochs",
    },
    "rt-bert": {
        "adapter": "hf-text",
        "tasks": ["rotten-tomatoes"],
        # a model folder (save_pretrained); every file's sha256 is in SHA256SUMS as rt-bert/<file>
        "weights": "rt-bert",
        "max_length": 64,
        "description": (
            "BERT 2 layers, hidden 64 (0.6M params), WordPiece vocabulary of 8,000 trained on the "
            "rotten-tomatoes training split; AdamW + one-cycle LR, 4 epochs (python -m harness.zoo.train_text)"
        ),
    },
}
