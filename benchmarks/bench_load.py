"""Loading a local table: the harness's loader against `pandas.read_csv` of the same file.

Builds, in a temporary folder, an Adult-size table (32,561 training + 16,281 test rows, UCI's
raw `adult.data` / `adult.test` layout, and the same rows as one CSV with a header) and a
1,000,000-row, 20-column numeric CSV (19 float features and an integer label), then times,
alternating A and B in one process (`--repeat` rounds, the median reported):

- `inline-adult`: `load_task` of the Adult-size CSV as an inline tabular task (5 numeric
  features, 4 one-hot columns, groups sex and race) plus its labels and groups, against
  `pandas.read_csv` of the same file alone and against `pandas.read_csv` plus the same float32
  feature matrix, labels and groups built in pandas (`get_dummies`; checked equal to the
  harness's matrix bit for bit before timing);
- `recipe-adult`: the catalogue recipe `adult` on the raw UCI files (read, clean, encode, scale
  and build the task in memory: features, labels and groups ready; a recipe on local files is not
  cached), against `pandas.read_csv` of both files;
- `wide-1M`: `load_task` of the 1,000,000 x 20 CSV (labels and matrix ready) against
  `pandas.read_csv` alone and plus the float32 matrix and labels.

Peak memory of the harness load of the 1M-row file is measured in a fresh subprocess (VmHWM
above the footprint after imports) and compared with the size of the file's Arrow table
(`pyarrow.csv.read_csv(...).nbytes`).

Each case runs in a fresh interpreter (imports and one warm-up call first): a case's memory must
not change another's timings (after the 1,000,000-row frame, glibc keeps pandas' buffers mapped,
and `pandas.read_csv` of the Adult-size file ran 1.8x faster in that process; the harness's Arrow
buffers come from mimalloc and gain little).

Targets (issue 33): at most 2x `pandas.read_csv` of the same file; Adult ready in under 1 s;
peak memory at most 3x the Arrow table. Timings on a shared machine vary several-fold: run it a
few times, quiet and busy, and compare the ratios.

    OMP_NUM_THREADS=1 python benchmarks/bench_load.py [--repeat 5] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ADULT_TRAIN, ADULT_TEST = 32_561, 16_281
WORKCLASS = ["Private", "Self-emp-not-inc", "Local-gov", "State-gov", "?"]
MARITAL = ["Married-civ-spouse", "Never-married", "Divorced", "Widowed"]
OCCUPATION = ["Sales", "Exec-managerial", "Craft-repair", "Adm-clerical", "?"]
RELATIONSHIP = ["Husband", "Not-in-family", "Own-child", "Wife", "Unmarried"]


def adult_frame(n: int, seed: int) -> pd.DataFrame:
    """Rows in UCI's Adult columns (values drawn from its categories)."""
    gen = np.random.default_rng(seed)

    def pick(values: list[str]) -> np.ndarray:
        return np.asarray(values)[gen.integers(0, len(values), n)]

    return pd.DataFrame(
        {
            "age": gen.integers(17, 91, n),
            "workclass": pick(WORKCLASS),
            "fnlwgt": gen.integers(12_000, 1_500_000, n),
            "education": pick(["HS-grad", "Bachelors", "Masters", "Some-college"]),
            "education-num": gen.integers(1, 17, n),
            "marital-status": pick(MARITAL),
            "occupation": pick(OCCUPATION),
            "relationship": pick(RELATIONSHIP),
            "race": pick(["White", "Black", "Asian-Pac-Islander", "Other"]),
            "sex": pick(["Male", "Female"]),
            "capital-gain": gen.integers(0, 99_999, n) * (gen.random(n) < 0.1),
            "capital-loss": gen.integers(0, 4_356, n) * (gen.random(n) < 0.05),
            "hours-per-week": gen.integers(1, 100, n),
            "native-country": pick(["United-States", "Mexico", "?"]),
            "income": pick(["<=50K", ">50K"]),
        }
    )


def write_uci(frame: pd.DataFrame, path: Path, test_file: bool) -> None:
    rows = frame.copy()
    if test_file:
        rows["income"] = rows["income"] + "."
    head = "|1x3 Cross validator\n" if test_file else ""
    body = rows.to_csv(header=False, index=False).replace(",", ", ")
    path.write_text(head + body + "\n")


def build(folder: Path, rows: int) -> dict[str, Path]:
    train, test = adult_frame(ADULT_TRAIN, 0), adult_frame(ADULT_TEST, 1)
    (folder / "uci").mkdir()
    write_uci(train, folder / "uci" / "adult.data", test_file=False)
    write_uci(test, folder / "uci" / "adult.test", test_file=True)
    train.to_csv(folder / "adult.csv", index=False)
    gen = np.random.default_rng(2)
    wide = pd.DataFrame(
        gen.standard_normal((rows, 19)) * 1000, columns=[f"f{i}" for i in range(19)]
    )
    wide["label"] = gen.integers(0, 2, rows)
    wide.to_csv(folder / "wide.csv", index=False, float_format="%.6f")
    return {"adult": folder / "adult.csv", "uci": folder / "uci", "wide": folder / "wide.csv"}


NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
ONE_HOT = ["workclass", "marital-status", "occupation", "relationship"]


def inline_adult(path: Path) -> object:
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    spec = TaskSpec.model_validate(
        {
            "name": "adult-inline",
            "source": str(path),
            "modality": "tabular",
            "label_column": "income",
            "class_names": ["<=50K", ">50K"],
            "feature_columns": NUMERIC + ONE_HOT,
            "one_hot": dict.fromkeys(ONE_HOT),
            "group_columns": ["sex", "race"],
        }
    )
    task = load_task(spec, base_dir=path.parent)
    _ready(task)
    return task


def pandas_adult(path: Path) -> np.ndarray:
    """`pandas.read_csv` and the same matrix (float32, one-hot in sorted category order, `?`
    missing: all zeros), labels and groups."""
    frame = pd.read_csv(path, na_values=["?"])
    blocks = [frame[NUMERIC].to_numpy(np.float32)]
    blocks += [pd.get_dummies(frame[c], dtype=np.float32).to_numpy() for c in ONE_HOT]
    matrix = np.hstack(blocks)
    _ = (frame["income"] == ">50K").to_numpy(np.int64), frame[["sex", "race"]]
    return matrix


def recipe_adult(folder: Path) -> None:
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    spec = TaskSpec(name="adult-uci", recipe="adult", source=str(folder))
    _ready(load_task(spec, base_dir=folder))


def wide(path: Path) -> object:
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    spec = TaskSpec(name="wide", source=str(path), modality="tabular")
    task = load_task(spec, base_dir=path.parent)
    _ready(task)
    return task


def pandas_wide(path: Path) -> np.ndarray:
    """`pandas.read_csv`, the float32 matrix of every column but the label, and the labels."""
    frame = pd.read_csv(path)
    matrix = frame.drop(columns="label").to_numpy(np.float32)
    _ = frame["label"].to_numpy(np.int64)
    return matrix


def same_matrix(task: object, matrix: np.ndarray) -> float:
    """The largest difference between the harness's matrix and pandas' (0: the same work)."""
    mine = task.all_inputs().numpy()  # type: ignore[attr-defined]
    if mine.shape != matrix.shape:
        raise SystemExit(f"harness matrix {mine.shape} but pandas {matrix.shape}")
    return float(np.abs(mine - matrix).max())


def _ready(task: object) -> None:
    """Features, labels and groups in hand (the matrix is built by the load itself)."""
    _ = task.labels, task.groups(), task.data  # type: ignore[attr-defined]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    name: str,
    a: Callable[[], object],
    b: Callable[[], object],
    repeat: int,
    c: Callable[[], object] | None = None,
) -> dict:
    """Median times of the harness (`a`), `pandas.read_csv` (`b`) and, when given, pandas'
    read plus the same matrix (`c`), run in turn `repeat` times."""
    runs = [a, b] + ([c] if c is not None else [])
    for run in runs:
        run()  # warm imports and file caches
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, kept in zip(runs, times, strict=True):
            kept.append(timed(run))
    ma, mb = statistics.median(times[0]), statistics.median(times[1])
    row = {"case": name, "harness_s": ma, "pandas_s": mb, "ratio": ma / mb}
    line = f"{name:<22} harness {ma:7.3f} s  read_csv {mb:7.3f} s ({ma / mb:4.2f}x)"
    if c is not None:
        mc = statistics.median(times[2])
        row.update({"pandas_matrix_s": mc, "ratio_matrix": ma / mc})
        line += f"  read_csv+matrix {mc:7.3f} s ({ma / mc:4.2f}x)"
    print(line)
    return row


def peak_memory(path: Path) -> dict:
    """In a fresh process: peak RSS of the harness load above the footprint after imports, and
    the Arrow table of the same file."""
    code = f"""
import json, pathlib, pyarrow.csv
def hwm(field):
    for line in pathlib.Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) / 1024.0
import harness.data.loader, harness.config.spec, datasets, torch
base = hwm('VmRSS')
from benchmarks.bench_load import wide
wide(pathlib.Path({str(path)!r}))
peak = hwm('VmHWM') - base
table = pyarrow.csv.read_csv({str(path)!r}).nbytes / 2**20
print(json.dumps({{'peak_mb': peak, 'arrow_mb': table}}))
"""
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["ratio"] = result["peak_mb"] / result["arrow_mb"]
    print(
        f"peak memory, wide load: {result['peak_mb']:.0f} MB above imports; Arrow table "
        f"{result['arrow_mb']:.0f} MB; ratio {result['ratio']:.2f}x"
    )
    return result


def run_case(case: str, folder: Path, rows: int, repeat: int) -> dict:
    """Check, then time one case (in the process it runs in)."""
    files = {"adult": folder / "adult.csv", "uci": folder / "uci", "wide": folder / "wide.csv"}
    uci = files["uci"]
    if case == "inline-adult":
        if same_matrix(inline_adult(files["adult"]), pandas_adult(files["adult"])) != 0:
            raise SystemExit("inline-adult: pandas' matrix differs from the harness's")
        return compare(
            case,
            lambda: inline_adult(files["adult"]),
            lambda: pd.read_csv(files["adult"]),
            repeat,
            lambda: pandas_adult(files["adult"]),
        )
    if case == "recipe-adult":

        def both_files() -> None:
            pd.read_csv(uci / "adult.data", header=None, skipinitialspace=True)
            pd.read_csv(uci / "adult.test", header=None, skipinitialspace=True, skiprows=1)

        return compare(case, lambda: recipe_adult(uci), both_files, repeat)
    gap = same_matrix(wide(files["wide"]), pandas_wide(files["wide"]))
    print(f"matrices: wide largest difference {gap:g} (float parsers)")
    return compare(
        f"wide-{rows // 1000}k",
        lambda: wide(files["wide"]),
        lambda: pd.read_csv(files["wide"]),
        max(1, repeat // 2),
        lambda: pandas_wide(files["wide"]),
    )


CASES = ("inline-adult", "recipe-adult", "wide")


def in_fresh_process(case: str, folder: Path, rows: int, repeat: int) -> dict:
    """`run_case` in a new interpreter: a case's memory does not speed up or slow down the
    next one's (after a 1,000,000-row frame, glibc keeps pandas' buffers mapped and
    `pandas.read_csv` of the Adult-size file ran 1.8x faster in the same process)."""
    repo = Path(__file__).resolve().parents[1]
    args = ["--case", case, "--folder", str(folder), "--rows", str(rows), "--repeat", str(repeat)]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_load", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    print("\n".join(lines[:-1]))
    row: dict = json.loads(lines[-1])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # one case, here
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        logging.disable(logging.WARNING)  # the loader's missing-cell lines, once per load
        print(json.dumps(run_case(args.case, args.folder, args.rows, args.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["HARNESS_CACHE_DIR"] = str(folder / "cache")
        build(folder, args.rows)
        rows = [in_fresh_process(case, folder, args.rows, args.repeat) for case in CASES]
        memory = peak_memory(folder / "wide.csv")
        print(json.dumps({"timings": rows, "memory": memory}, indent=1))


if __name__ == "__main__":
    main()
