"""Group values that hold the key's own separators (`,` `/` `=`) stay distinct groups in the
leaderboard's column labels and the report's words (probe38)."""

from __future__ import annotations

from harness.present.leaderboard_view import column_labels, split_key
from harness.present.metric_names import qualifier_words


def _key(group: str, by: str = "g", metric: str = "group_acc") -> str:
    return f"{metric}[group={group},group_by={by}]"


def test_a_group_value_with_a_comma_keeps_its_whole_name() -> None:
    """`a,group_by=g` and `a` were two groups both labelled `group_acc[group=a]` on the
    leaderboard and `by g · group a` in the report."""
    assert split_key(_key("a,group_by=g")) == ("group_acc", ["group=a,group_by=g", "group_by=g"])
    labels, legend = column_labels([_key("a"), _key("a,group_by=g")])
    assert labels == {
        _key("a"): "group_acc[group=a]",
        _key("a,group_by=g"): "group_acc[group=a,group_by=g]",
    }
    assert legend == ["group_acc: group_by=g"]
    words = [qualifier_words(split_key(k)[1]) for k in (_key("a"), _key("a,group_by=g"))]
    assert words == [["by g", "group a"], ["by g", "group a,group_by=g"]]


def test_bin_labels_and_slashes_stay_one_group_value() -> None:
    """group_bins name groups `[40, 50)`: the report read `group [40` and ` 50) `."""
    assert qualifier_words(split_key(_key("[40, 50)", "age_bin"))[1]) == [
        "by age_bin",
        "group [40, 50)",
    ]
    assert qualifier_words(split_key(_key("Asian/Pacific Islander", "race"))[1]) == [
        "by race",
        "group Asian/Pacific Islander",
    ]


def test_plain_keys_split_as_before() -> None:
    assert split_key("robust_acc[attack=ensemble/norm=linf/eps=0.1]") == (
        "robust_acc",
        ["attack=ensemble/norm=linf/eps=0.1"],
    )
    assert split_key("top1_acc") == ("top1_acc", [])
    assert split_key("group_acc[attack=ensemble/eps=0.1,group=F,group_by=sex]") == (
        "group_acc",
        ["attack=ensemble/eps=0.1", "group=F", "group_by=sex"],
    )
    assert qualifier_words(["attack=ensemble/norm=linf/eps=0.1"]) == [
        "worst case over attacks",
        "L-inf 0.1",
    ]


def test_a_class_name_with_a_comma_keeps_its_whole_name() -> None:
    """The first qualifier of a key is always a real one: class `x,class=y` read as class `y`."""
    key = "class_acc[class=x,class=y]"
    assert split_key(key) == ("class_acc", ["class=x,class=y"])
    assert qualifier_words(split_key(key)[1]) == ["class x,class=y"]
    labels, _legend = column_labels([key, "class_acc[class=y]"])
    assert labels[key] != labels["class_acc[class=y]"]
