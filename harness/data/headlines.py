"""The headline threat model of every catalogue task (harness.core.threat_model).

The budget the literature reports each benchmark at, most important first, so a board headlines
robust accuracy where published numbers can be compared with it; for the small built-in tasks,
which have no literature standard, a budget at which the reference zoo's models differ (a
headline at which every model reads 0 says nothing). A spec's `headline:` replaces a task's
entry; a third-party task sets `Task.headline` itself. Text tasks have no norm-ball threat
model: their entry is empty.

| task                          | headline              | why                                       |
|-------------------------------|-----------------------|-------------------------------------------|
| mnist, mnist-full, mnist-seen | L-inf 0.3             | Madry et al. 2018; AutoAttack (Croce & Hein 2020) |
| cifar10                       | L-inf 8/255, L2 0.5   | RobustBench's two CIFAR-10 leaderboards   |
| cifar100                      | L-inf 8/255           | RobustBench's CIFAR-100 leaderboard       |
| cifar10-c, cifar100-c         | as cifar10, cifar100  | the same images and models, corrupted     |
| svhn                          | L-inf 8/255           | the budget of the SVHN adversarial-training literature |
| imagenet-val and its variants | L-inf 4/255           | RobustBench's ImageNet leaderboard        |
| digits, digits-shifted        | L-inf 0.1             | 8x8 digits in [0, 1]: at 0.3 every zoo model reads 0; at 0.1 the adversarially trained CNN is clearly ahead of the plain one |
| diabetes                      | L-inf 0.1             | features scaled to [0, 1]: at 0.3 both zoo models read 0; at 0.1 they differ |
| adult, compas, german-credit  | L-inf 0.1             | no literature standard for tabular data; the diabetes convention (a tenth of each scaled feature's range) |
| sst2, imdb, ag-news, rotten-tomatoes | none                  | text: no norm-ball threat model            |
| mnist-unseen, natural-patches | none                  | unlabelled OOD sets: nothing to attack     |
"""

from __future__ import annotations

from harness.core.threat_model import Headline, ThreatModel

_MNIST: Headline = (ThreatModel(norm="linf", eps=0.3),)
_CIFAR10: Headline = (ThreatModel(norm="linf", eps=8 / 255), ThreatModel(norm="l2", eps=0.5))
_CIFAR100: Headline = (ThreatModel(norm="linf", eps=8 / 255),)
_IMAGENET: Headline = (ThreatModel(norm="linf", eps=4 / 255),)
_SMALL: Headline = (ThreatModel(norm="linf", eps=0.1),)

HEADLINES: dict[str, Headline] = {
    "digits": _SMALL,
    "digits-shifted": _SMALL,
    "diabetes": _SMALL,
    "mnist": _MNIST,
    "mnist-full": _MNIST,
    "mnist-seen": _MNIST,
    "mnist-unseen": (),
    "natural-patches": (),
    "cifar10": _CIFAR10,
    "cifar10-c": _CIFAR10,
    "cifar100": _CIFAR100,
    "cifar100-c": _CIFAR100,
    "svhn": (ThreatModel(norm="linf", eps=8 / 255),),
    "imagenet-val": _IMAGENET,
    "imagenet-c": _IMAGENET,
    "imagenet-r": _IMAGENET,
    "imagenet-a": _IMAGENET,
    "imagenet-sketch": _IMAGENET,
    "adult": _SMALL,
    "compas": _SMALL,
    "german-credit": _SMALL,
    "sst2": (),
    "imdb": (),
    "ag-news": (),
    "rotten-tomatoes": (),
}
