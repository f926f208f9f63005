"""Reaching the Hugging Face hub, or knowing at once that it cannot be reached.

Before the first hub access of a process (a hub task, a protocol's task, a hub model) the hub is
probed once: one HTTP `HEAD` request to its endpoint (`HF_ENDPOINT`, default
https://huggingface.co), given `PROBE_TIMEOUT_S` seconds for DNS, connection, TLS and the
answer's status line together (any status counts as an answer), through the environment's HTTP
proxy when it sets one for the endpoint (HTTPS_PROXY / HTTP_PROXY, NO_PROXY), as the hub
libraries go. A bare TCP connection is not enough: a firewall or proxy that accepts connections
and never answers left every hub library waiting on its own timeouts and retries (measured: 402 s
for one uncached hub task, over 300 s planning one `hf:` model). When it cannot be reached, or
`HF_HUB_OFFLINE=1` says so, the process switches the hub libraries to their cache-only mode
(`HF_HUB_OFFLINE` / `HF_DATASETS_OFFLINE` for datasets, huggingface_hub and transformers, also
in the environment of worker processes): an entry that is cached loads from the cache, one that
is not fails at once with one line naming it, and nothing retries (without this, each hub access
retried five times with sleeps, 6 connection errors and 5 "Retrying in Ns" lines per job, each
printed twice). Where each entry is cached is `hub_cache`'s business.
"""

from __future__ import annotations

import base64
import functools
import http.client
import ipaddress
import os
import ssl
import sys
import threading
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from harness.core.errors import DatasetError

if TYPE_CHECKING:
    import datasets

    from harness.data.task_spec import TaskSpec

PROBE_TIMEOUT_S = 3.0
REASON_ENV = "HARNESS_HUB_UNREACHABLE"  # why this process went cache-only (read by its workers)
DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = ("1", "ON", "YES", "TRUE")


@dataclass(frozen=True)
class HubStatus:
    """Whether the hub answered, and in a few words why not."""

    reachable: bool
    reason: str = ""


def declared_offline() -> bool:
    """`HF_HUB_OFFLINE` (or datasets' / transformers' own variable) asks for the cache only."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(n, "").upper() in _TRUE for n in names)


def endpoint() -> tuple[str, int, str]:
    """(host, port, scheme) of the hub endpoint."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    scheme = "http" if url.scheme == "http" else "https"
    return url.hostname or "huggingface.co", url.port or (80 if scheme == "http" else 443), scheme


def hub_status() -> HubStatus:
    """The hub's status for this process: what an earlier probe found (also in a parent
    process: `REASON_ENV`), offline when declared, else one probe (cached)."""
    found = os.environ.get(REASON_ENV)
    if found:
        return HubStatus(False, found)
    if declared_offline():
        return HubStatus(False, "HF_HUB_OFFLINE is set")
    try:
        where = endpoint()
    except ValueError as err:  # a port that is not a number, say: the hub libraries fail too
        text = os.environ.get("HF_ENDPOINT", "")
        return HubStatus(False, f"HF_ENDPOINT {text!r} is not a URL ({_short(err)})")
    return _probe(*where)


@functools.cache
def _probe(host: str, port: int, scheme: str = "https") -> HubStatus:
    """One HEAD request, bounded by PROBE_TIMEOUT_S even when DNS hangs or the server accepts
    the connection and never answers."""
    outcome: list[HubStatus] = []

    try:
        connection, path, headers, via = _connection(host, port, scheme)
    except (ValueError, http.client.HTTPException) as err:  # a proxy URL's port "abc", say
        return HubStatus(False, f"the environment's proxy for {host} is not a URL: {_short(err)}")

    def attempt() -> None:
        try:
            connection.request("HEAD", path, headers=headers)
            connection.getresponse()
            outcome.append(HubStatus(True))
        except TimeoutError:
            outcome.append(
                HubStatus(False, f"{host}{via} did not answer within {PROBE_TIMEOUT_S:g} s")
            )
        except Exception as err:  # OSError, HTTPException, a host name idna refuses, ...
            outcome.append(HubStatus(False, f"{host}{via} cannot be reached: {_short(err)}"))
        finally:
            connection.close()

    worker = threading.Thread(target=attempt, name="hub-probe", daemon=True)
    worker.start()
    worker.join(PROBE_TIMEOUT_S + 0.5)
    if not outcome:
        return HubStatus(False, f"{host}{via} did not answer within {PROBE_TIMEOUT_S:g} s")
    return outcome[0]


def _connection(
    host: str, port: int, scheme: str
) -> tuple[http.client.HTTPConnection, str, dict[str, str], str]:
    """The probe's connection, the path it asks for, its headers and " (through proxy ...)"
    when the environment's proxy serves `host` (`_proxy_url`), as the hub libraries read it:
    where direct connections are blocked and only the proxy goes out, a direct probe took a
    reachable hub for unreachable."""
    proxy = _proxy_url(host, port, scheme)
    url = urlparse(proxy) if proxy else None
    # liveness only: the hub libraries check the certificate with their own settings (a
    # proxy's own CA bundle, say), so a certificate this process cannot verify is not
    # "unreachable"
    context = ssl._create_unverified_context()
    if url is None or not url.hostname or url.scheme != "http":  # an https or socks proxy: direct
        if scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT_S), "/", {}, ""
        https = http.client.HTTPSConnection(host, port, timeout=PROBE_TIMEOUT_S, context=context)
        return https, "/", {}, ""
    proxy_port = url.port or 80  # a port that is not a number: ValueError
    via = f" (through proxy {url.hostname}:{proxy_port})"
    auth = {}
    if url.username is not None:  # http://user:password@proxy: a proxy asking for them (407)
        pair = f"{unquote(url.username)}:{unquote(url.password or '')}".encode()
        auth["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    if scheme == "http":  # a plain proxy request: the absolute URL
        plain = http.client.HTTPConnection(url.hostname, proxy_port, timeout=PROBE_TIMEOUT_S)
        return plain, f"http://{host}:{port}/", auth, via
    tunnel = http.client.HTTPSConnection(
        url.hostname, proxy_port, timeout=PROBE_TIMEOUT_S, context=context
    )
    tunnel.set_tunnel(host, port, headers=auth)  # CONNECT through the proxy, then TLS
    return tunnel, "/", {}, via


def _proxy_url(host: str, port: int, scheme: str) -> str | None:
    """The proxy the hub libraries' HTTP client (httpx) takes from the environment for
    `scheme://host:port`: `<scheme>_proxy`, else `all_proxy` (`http://` when it names no
    scheme: `proxy:3128`); none when `no_proxy` lists `*` or matches the host (`example.com`
    and its subdomains; `.example.com` and `*.example.com` its subdomains only; `host:port`
    that port only; an IP address or network). urllib's own `proxy_bypass` differs on several
    (a `.example.com` bypassed example.com itself, a `*` in a list bypassed nothing)."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy:
        return None
    default = port == (80 if scheme == "http" else 443)
    for entry in (e.strip().lower() for e in proxies.get("no", "").split(",")):
        if entry == "*":
            return None
        if entry and _bypasses(entry, host.lower(), None if default else port):
            return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _bypasses(entry: str, host: str, port: int | None) -> bool:
    """Whether one `no_proxy` entry names `host` (`port`: the endpoint's, None when the
    scheme's default), as httpx reads it."""
    if "://" in entry:
        entry = entry.split("://", 1)[1]
    name, _, wanted = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
    if wanted and (not wanted.isdigit() or int(wanted) != port):
        return False
    name = name.strip("[]")
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False)
    except ValueError:
        pass
    if name.startswith("*."):
        return host.endswith(name[1:])
    if name.startswith("."):
        return host.endswith(name)
    return host == name or host.endswith("." + name.lstrip("*"))


def _short(err: Exception) -> str:
    text = (err.strerror if isinstance(err, OSError) else None) or str(err)
    return (text or type(err).__name__).splitlines()[0][:120]


def use_hub() -> HubStatus:
    """Probe once; when the hub cannot be reached, switch to the cache only (no retries)."""
    status = hub_status()
    if not status.reachable:
        cache_only(status.reason)
    return status


def cache_only(reason: str) -> None:
    """The hub libraries' offline mode, for this process and the workers it starts."""
    if not declared_offline():
        os.environ[REASON_ENV] = reason
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is not None:
        hub_constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_config.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]
        datasets_config.HF_DATASETS_OFFLINE = True  # type: ignore[attr-defined]


def unreachable_error(what: str, status: HubStatus, how_to_cache: str) -> DatasetError:
    """The one line for a hub entry that is neither reachable nor cached."""
    return DatasetError(f"{what} is neither reachable ({status.reason}) nor cached; {how_to_cache}")


def load_hub_dataset(spec: TaskSpec, dataset: str, split: str) -> datasets.Dataset:
    """One split of hub dataset `dataset` (the spec's subset and revision), from the hub or,
    when the hub cannot be reached, from the local datasets cache; a split that is in neither is
    one `DatasetError` line naming the task."""
    import datasets as hf_datasets

    from harness.data.hub_cache import cached_dataset_folder, datasets_cache_root

    status = use_hub()
    try:
        return hf_datasets.load_dataset(  # type: ignore[no-any-return]
            dataset, spec.subset, split=split, revision=spec.revision
        )
    except (
        ConnectionError,
        FileNotFoundError,
        ValueError,
        hf_datasets.exceptions.DatasetNotFoundError,
        hf_datasets.exceptions.DatasetGenerationError,
    ) as err:
        config = f" (config {spec.subset})" if spec.subset else ""
        what = f"task {spec.name!r}: hub dataset {dataset}{config} split {split!r}"
        if not status.reachable and cached_dataset_folder(dataset) is None:
            raise unreachable_error(
                what,
                status,
                f"connect once and run the task to cache it in {datasets_cache_root()} (or set "
                "HF_DATASETS_CACHE to a cache that holds it)",
            ) from err
        reason = " ".join(str(err).split())[:400]
        offline = "" if status.reachable else f" (offline: {status.reason})"
        raise DatasetError(f"{what}: cannot load it{offline}: {reason}") from err
