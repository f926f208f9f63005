"""The CLI's `run` as a Python function, `harness.run_spec` (`harness.run` is this package).

`run` takes a spec file, a spec mapping or a `RunSpec`, runs it into a results folder exactly as
`harness run` does (same plan, same runner, same job keys and caches) and returns the
`RunOutcome`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.config.planner import build_plan
from harness.config.spec import RunSpec, load_spec, names_value
from harness.core.errors import SpecError
from harness.core.user_code import user_code
from harness.core.validation import format_validation_error
from harness.run.grad_mode import autograd_on
from harness.run.plugins import installed_plugins
from harness.run.runner import Runner, RunOutcome


def run(
    spec: str | Path | Mapping[str, Any] | RunSpec,
    *,
    out: str | Path = "results",
    models: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    suites: Sequence[str] | None = None,
    base_dir: str | Path | None = None,
    fail_fast: bool = False,
) -> RunOutcome:
    """Run a spec into `out` (a spec file's relative paths resolve from its folder; a mapping's
    from `base_dir`, default the current folder); the outcome lists every job, its status and
    the run folder. Jobs that fail are recorded, as in `harness run` (`outcome.failed`)."""
    from pydantic import ValidationError

    folders: list[Path] = []
    if isinstance(spec, str | Path):
        path = Path(spec)
        loaded = load_spec(path)
        base = path.resolve().parent
        folders.append(base)  # its `module:factory` references, as `harness run` does
    else:
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        if isinstance(spec, RunSpec):
            loaded = spec
        else:
            try:
                loaded = RunSpec.model_validate(dict(spec))
            except ValidationError as err:
                raise SpecError(f"spec: {format_validation_error(err, prefix='')}") from None
    # the spec's folder first on sys.path and its own modules, for this run only: a second
    # spec's `mymodel` is never the first one's (harness.core.user_code)
    with user_code(*folders):
        return _run(loaded, base, out, models, tasks, suites, fail_fast)


def _run(
    loaded: RunSpec,
    base: Path,
    out: str | Path,
    models: Sequence[str] | None,
    tasks: Sequence[str] | None,
    suites: Sequence[str] | None,
    fail_fast: bool,
) -> RunOutcome:
    plan = build_plan(
        loaded,
        base_dir=base,
        plugins=installed_plugins(),
        models=names_value("models", models),
        tasks=names_value("tasks", tasks),
        suites=names_value("suites", suites),
    )
    with autograd_on():  # gradient attacks, even when called inside torch.inference_mode()
        return Runner(plan, out_dir=Path(out), fail_fast=fail_fast).run()
