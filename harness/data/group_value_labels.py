"""Readable labels of the group values of the catalogue's fairness tasks, as their sources
document them, in display order.

The tasks' preparations (`hub_recipes.py`, and the raw public layouts they also read) turn each
source's codes into the words these labels key on: UCI Adult's `race` and `sex` (adult.names),
ProPublica's COMPAS `race` and `sex` (as imodels' copy spells them: `Native_American`), and the
Statlog German credit data's attribute 9, personal status and sex (A91/A93/A94 male, A92/A95
female), with the age band the fairness literature uses (under 25). A value not listed is shown
as stored. The plan adds these to a catalogue task that does not label the column itself
(`harness/config/planner.py`); a spec's inline task gives its own (`group_labels:`), and a
coding the source does not document is never labelled here: the task says so in
`Task.group_notes` (scikit-learn diabetes' sex 1/2).
"""

from __future__ import annotations

_SEX = {"Female": "female", "Male": "male"}

GROUP_VALUE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "adult": {
        "sex": _SEX,
        "race": {
            "White": "White",
            "Black": "Black",
            "Asian-Pac-Islander": "Asian or Pacific Islander",
            "Amer-Indian-Eskimo": "American Indian or Eskimo",
            "Other": "other",
        },
    },
    "compas": {
        "sex": _SEX,
        "race": {
            "African-American": "African-American",
            "Caucasian": "Caucasian",
            "Hispanic": "Hispanic",
            "Asian": "Asian",
            "Native_American": "Native American",
            "Other": "other",
        },
    },
    "german-credit": {
        "Sex": {"female": "female (Statlog A92, A95)", "male": "male (Statlog A91, A93, A94)"},
        "Age_band": {"<25": "under 25", "25+": "25 and over"},
    },
}
