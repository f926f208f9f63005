"""Export: stored results to where teams keep them (docs/export.md).

`harness export RESULTS --to mlflow` logs each stored job as an MLflow run
(`mlflow_export.py`); `--to model-index` writes a Hugging Face model card's `model-index` per
model (`model_index.py`). Both read the results folder through the store, as plain records
(`exported_jobs.py`; the chance levels of their accuracies, as the leaderboard gives them:
`chance.py`), and import their optional package only when called. No torch here.
"""
