"""With the network blocked, every entry that needs the hub (task, protocol, model) fails at once
with one line naming it, saying it is neither reachable nor cached and how to cache it: the hub
is probed once (a socket that refuses every connection), nothing retries or sleeps, no traceback.
`harness validate` lists those entries and whether each is cached."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.data import hub_access

REAL_PROBE = hub_access._probe.__wrapped__  # the autouse fixture stands a fake in for it

Spec = Callable[..., Path]
MODEL = """\
models:
  - {name: m, adapter: torch, factory: "torch.nn:Identity", input_shape: [3, 32, 32]}
"""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, list[Any]]]:
    """Every connection and name lookup refused (counted); sleeps recorded; empty hub caches."""
    seen: dict[str, list[Any]] = {"connect": [], "sleep": []}

    def refuse(*args: Any, **kwargs: Any) -> Any:
        seen["connect"].append(args[:1])
        raise OSError(101, "Network is unreachable (blocked by the test)")

    real_sleep = time.sleep
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(
        time, "sleep", lambda s: seen["sleep"].append(s) or real_sleep(min(s, 0.01))
    )
    monkeypatch.setattr(hub_access, "_probe", REAL_PROBE)
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-home" / "datasets"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    yield seen
    assert not [s for s in seen["sleep"] if s >= 0.5], "something retried with a sleep"


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _real_probe(monkeypatch: pytest.MonkeyPatch, timeout_s: float | None = None) -> None:
    """The real hub probe, online as far as the environment says (no offline variable, no
    reason carried from a parent process), with `timeout_s` if given."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(hub_access.REASON_ENV, raising=False)
    monkeypatch.setattr(hub_access, "_probe", REAL_PROBE)
    if timeout_s is not None:
        monkeypatch.setattr(hub_access, "PROBE_TIMEOUT_S", timeout_s)


@contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """A local HTTP server answering with `handler`, in a thread; its port."""
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_hub_tasks_fail_at_once_in_one_line_each(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec("tasks: [cifar10, adult]\n" + MODEL + "suites: {accuracy: {}}\n")
    code = main(["run", str(spec), "--out", str(spec.parent / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "Retrying" not in err and "ConnectionError" not in err
    failed = [line for line in lines_of(err) if line.startswith("error: job")]
    assert len(failed) == 2
    assert (
        "task 'cifar10': hub dataset uoft-cs/cifar10 (config plain_text) split 'test' is neither "
        "reachable (huggingface.co cannot be reached: Network is unreachable"
    ) in failed[0]
    assert "nor cached; connect once and run the task to cache it in" in failed[0]
    assert "task 'adult': hub dataset AiresPucrs/adult-census-income" in failed[1]
    assert len(no_network["connect"]) == 1  # one probe for the whole run, no retries


def test_a_protocol_task_fails_in_one_line(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec("protocol: robustbench-cifar10-linf\n" + MODEL)
    code = main(["run", str(spec), "--out", str(spec.parent / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    failed = [line for line in lines_of(err) if line.startswith("error: job")]
    assert len(failed) == 1 and "task 'cifar10': hub dataset uoft-cs/cifar10" in failed[0]
    assert "is neither reachable" in failed[0]


def test_a_hub_model_fails_at_once_in_one_line(
    no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        ["run", "--models", "hf:org/absent", "--tasks", "digits", "--out", str(tmp_path / "o")]
    )
    err = lines_of(capsys.readouterr().err)
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: model 'hf:org/absent': config.json is not in the local hub")
    assert len(no_network["connect"]) == 1


def test_validate_lists_what_needs_the_network_and_what_is_cached(
    write_spec: Spec,
    no_network: dict[str, list[Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    cached = (
        tmp_path / "hf-home" / "datasets" / "uoft-cs___cifar10" / "plain_text" / "0.0.0" / "abc"
    )
    cached.mkdir(parents=True)
    models = (
        "models:\n"
        '  - {name: m, adapter: torch, factory: "torch.nn:Identity", input_shape: [3, 32, 32],'
        " tasks: [cifar10]}\n"
        '  - {name: t, adapter: torch, factory: "torch.nn:Identity", tasks: [adult, digits]}\n'
    )
    spec = write_spec("tasks: [cifar10, adult, digits]\n" + models + "suites: {accuracy: {}}\n")
    assert main(["validate", str(spec), "--width", "0"]) == 0
    out = capsys.readouterr().out
    assert (
        "network: 2 entries read from the Hugging Face hub (NOT reachable: huggingface.co cannot "
        "be reached"
    ) in out
    assert (
        f"task cifar10: hub dataset uoft-cs/cifar10 (config plain_text): cached in {cached}" in out
    )
    assert "task adult: hub dataset AiresPucrs/adult-census-income: NOT cached" in out
    assert "digits" not in out.split("network:")[1].split("code:")[0]


def test_a_local_spec_needs_no_network(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(
        "tasks: [digits]\n" + MODEL.replace("3, 32, 32", "1, 8, 8") + "suites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec), "--width", "0"]) == 0
    assert "network: none needed" in capsys.readouterr().out
    assert no_network["connect"] == []  # nothing to fetch: the hub is not even probed


def test_validate_lists_a_hub_model_and_its_cached_snapshot(
    write_spec: Spec,
    no_network: dict[str, list[Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    spec = write_spec(
        "tasks: [digits]\nmodels:\n  - {name: hm, adapter: hf-image, path: org/m}\n"
        "suites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec), "--width", "0"]) == 0
    out = capsys.readouterr().out
    assert "model hm: hub model org/m: NOT cached" in out
    # a mistyped local folder reads as a hub id: the line says no such folder is there either
    assert f"(no local folder {spec.parent / 'org' / 'm'} either)" in out, out
    snapshot = tmp_path / "hf-home" / "hub" / "models--org--m" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"")
    assert main(["validate", str(spec), "--width", "0"]) == 0
    assert f"model hm: hub model org/m: cached in {snapshot}" in capsys.readouterr().out


TEXT_SPEC = """\
tasks:
  - {{name: reviews, source: reviews.csv, modality: text, input_column: text,
     label_column: label, class_names: [neg, pos]}}
models:
  - {{name: bow, adapter: callable, modality: text, outputs: probabilities,
     callable: "tests.suites.adversarial.text.planted:bag_of_words_scores"}}
suites:
  adversarial: {{preset: fast, text: {{attacks: [char_greedy], similarity_model: {encoder}}}}}
"""


def _text_spec(folder: Path, encoder: str) -> Path:
    texts = ["a good film", "a bad film", "good", "bad"]
    (folder / "reviews.csv").write_text(
        "text,label\n" + "".join(f"{t},{i % 2 == 0:d}\n" for i, t in enumerate(texts))
    )
    spec = folder / "spec.yaml"
    spec.write_text(TEXT_SPEC.format(encoder=encoder))
    return spec


def test_validate_lists_a_text_attacks_hub_similarity_model(
    no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The adversarial suite's `text.similarity_model` read from the hub was not among the
    entries that need the network: validate said "network: none needed". A local encoder
    folder needs none."""
    spec = _text_spec(tmp_path, "org/encoder")
    assert main(["validate", str(spec), "--width", "0"]) == 0
    out = capsys.readouterr().out
    assert "network: 1 entry read from the Hugging Face hub (NOT reachable" in out
    assert "suite adversarial: hub model org/encoder (text.similarity_model): NOT cached" in out
    (tmp_path / "encoder").mkdir()
    spec.write_text(TEXT_SPEC.format(encoder="./encoder"))
    assert main(["validate", str(spec), "--width", "0"]) == 0
    assert "network: none needed" in capsys.readouterr().out


def test_a_text_attacks_hub_similarity_model_fails_at_once_in_one_line(
    no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The run did not probe the hub first, so transformers tried the network itself (offline:
    ~70 s of retries) before the job failed."""
    spec = _text_spec(tmp_path, "org/encoder")
    code = main(["run", str(spec), "--out", str(tmp_path / "o"), "--no-cache"])
    err = lines_of(capsys.readouterr().err)
    assert code == 1 and "Traceback" not in "\n".join(err)
    failed = [line for line in err if line.startswith("error: job")]
    assert len(failed) == 1 and "suites.adversarial.text.similarity_model" in failed[0]
    assert len(no_network["connect"]) == 1  # the probe; transformers then reads the cache only


@pytest.fixture
def silent_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """HF_ENDPOINT at a local port that accepts connections (the kernel completes them) and never
    answers, as a firewall or proxy that swallows requests does; the real probe, 0.3 s long."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    _real_probe(monkeypatch, timeout_s=0.3)
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", url)
    yield url
    server.close()


def test_a_hub_that_accepts_connections_and_never_answers_is_unreachable(
    silent_endpoint: str,
) -> None:
    # a TCP connection alone counted as reachable: every hub library then waited on its own
    # timeouts and retries (402 s for one uncached hub task, over 300 s planning a hf: model)
    status = hub_access.hub_status()
    assert not status.reachable
    assert status.reason == "127.0.0.1 did not answer within 0.3 s"


def test_a_hub_that_answers_any_status_is_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    class Answer(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # a mirror's root may well be a 404: it answered
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Answer) as port:
        _real_probe(monkeypatch)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert hub_access.hub_status() == hub_access.HubStatus(True)


def test_a_hub_model_fails_at_once_when_the_hub_never_answers(
    silent_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    code = main(
        ["run", "--models", "hf:org/absent", "--tasks", "digits", "--out", str(tmp_path / "o")]
    )
    err = lines_of(capsys.readouterr().err)
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: model 'hf:org/absent': config.json is not in the local hub")
    assert not (tmp_path / "o").exists()


def test_a_failed_hub_task_is_named_by_the_leaderboard_beside_the_jobs_that_ran(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # a task whose every job failed has no board to note it under: the leaderboard showed the
    # digits board and said nothing of cifar10
    models = (
        "models:\n"
        "  - digits-mlp\n"
        '  - {name: m, adapter: torch, factory: "torch.nn:Identity", input_shape: [3, 32, 32],'
        " tasks: [cifar10]}\n"
    )
    spec = write_spec("tasks: [digits, cifar10]\n" + models + "suites: {accuracy: {}}\n")
    out = spec.parent / "out"
    assert main(["run", str(spec), "--out", str(out), "--limit", "50"]) == 1
    assert len(list(out.glob("runs/*/jobs/digits-mlp--digits--accuracy--*/metrics.json"))) == 1
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--width", "0"]) == 0
    text = capsys.readouterr().out
    assert "digits-mlp" in text
    note = "note: task 'cifar10' has no board: 1 job(s) failed: m × cifar10 × accuracy (failed: "
    assert note + "task 'cifar10': hub dataset uoft-cs/cifar10" in text
    # whole, with its advice: it was cut at 160 characters, before "connect once ..."
    (manifest,) = out.glob("runs/*/manifest.json")
    (failed,) = [j for j in json.loads(manifest.read_text())["jobs"] if j["status"] == "failed"]
    reason = failed["message"].strip().splitlines()[0]
    assert len(reason) > 160 and note + reason + ")" in text
    assert main(["leaderboard", str(out), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert note in captured.err and "cifar10" not in captured.out


def test_cifar10_c_files_fail_at_once_in_one_line(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec("tasks: [cifar10-c]\n" + MODEL + "suites: {accuracy: {}}\n")
    assert main(["run", str(spec), "--out", str(spec.parent / "out")]) == 1
    err = capsys.readouterr().err
    failed = [line for line in lines_of(err) if line.startswith("error: job")]
    assert len(failed) == 1 and "Traceback" not in err
    # it read "the files of hub dataset YashP54/cifar10-c is neither reachable"
    assert (
        "task 'cifar10-c': hub dataset YashP54/cifar10-c (its .npy files) is neither reachable "
        "(huggingface.co cannot be reached: Network is unreachable"
    ) in failed[0]
    assert "nor cached; connect once and run the task to cache them in" in failed[0]


def test_the_hub_probe_goes_through_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # where only a proxy goes out, the probe connected directly and took a hub that the hub
    # libraries reach through HTTP_PROXY for unreachable: every hub entry then read "neither
    # reachable nor cached"
    asked: list[str] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Proxy) as port:
        _clear_proxies(monkeypatch)
        _real_probe(monkeypatch, timeout_s=2.0)
        monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")  # no direct route: .invalid
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
        assert hub_access.hub_status() == hub_access.HubStatus(True)
        assert asked == ["http://hub.invalid:80/"]
        monkeypatch.setenv("no_proxy", "hub.invalid")  # bypassed: direct, so unreachable
        status = hub_access.hub_status()
        assert not status.reachable and "through proxy" not in status.reason


def _clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("no", "https", "http", "all"):
        monkeypatch.delenv(f"{name}_proxy", raising=False)
        monkeypatch.delenv(f"{name.upper()}_PROXY", raising=False)


@pytest.mark.parametrize(
    ("env", "through"),
    [
        ({"HTTPS_PROXY": "127.0.0.1:9"}, True),  # no scheme: http://, as httpx and curl read it
        ({"ALL_PROXY": "http://127.0.0.1:9"}, True),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "localhost,*"}, False),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ".hub.invalid"}, True),  # subdomains
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "*.hub.invalid"}, True),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "hub.invalid:443"}, True),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": " other.org , .invalid"}, False),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "invalid"}, False),
        ({"HTTP_PROXY": "http://127.0.0.1:9"}, False),  # another scheme's proxy
    ],
)
def test_the_hub_probe_takes_the_proxy_the_hub_libraries_take(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], through: bool
) -> None:
    # the hub libraries' client (httpx) reads a proxy without a scheme as http://, falls back on
    # ALL_PROXY and bypasses every proxy for a "*" anywhere in NO_PROXY; the probe read these
    # with urllib's rules and went direct (a reachable hub behind the proxy: "unreachable")
    _clear_proxies(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    proxy = hub_access._proxy_url("hub.invalid", 443, "https")
    assert (proxy == "http://127.0.0.1:9") is through, proxy
    httpx = pytest.importorskip("httpx2")
    transport = httpx.Client()._transport_for_url(httpx.URL("https://hub.invalid/"))
    assert (getattr(transport._pool, "_proxy_url", None) is not None) is through


def test_the_hub_probe_gives_a_proxy_its_credentials_and_a_bad_one_a_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # http://user:password@proxy: without Proxy-Authorization the proxy's 407 refused the
    # CONNECT and a reachable hub read as unreachable; a proxy URL with a port that is not a
    # number (or an endpoint's) raised a traceback out of the probe
    seen: list[str | None] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            seen.append(self.headers.get("Proxy-Authorization"))
            self.send_response(200 if seen[-1] else 407)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Proxy) as port:
        _clear_proxies(monkeypatch)
        _real_probe(monkeypatch, timeout_s=2.0)
        monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
        monkeypatch.setenv("HTTP_PROXY", f"http://us%40er:pw@127.0.0.1:{port}")
        assert hub_access.hub_status() == hub_access.HubStatus(True)
        assert seen == ["Basic dXNAZXI6cHc="]  # base64 of "us@er:pw"
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy:abc")
        monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
        status = hub_access.hub_status()
        assert not status.reachable and "proxy for hub.invalid is not a URL" in status.reason
        monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid:abc")
        status = hub_access.hub_status()
        assert status.reason.startswith("HF_ENDPOINT 'https://hub.invalid:abc' is not a URL")
        monkeypatch.setenv("HF_ENDPOINT", "https://hub..invalid")  # idna refuses the name
        monkeypatch.delenv("HTTPS_PROXY")
        status = hub_access.hub_status()
        assert "hub..invalid cannot be reached: encoding with 'idna'" in status.reason
