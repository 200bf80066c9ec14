"""The one place every external call goes through: timeouts, retries of what is retryable, our own errors.

Providers wrap each request to a provider (an SDK call or an httpx request) in `call(...)`:

    task = call(lambda: client.tasks.retrieve(task_id), provider="Runway", translate=runway_error, ctx=ctx)

`translate` turns whatever the SDK or httpx raised into a `ProviderError` subclass (its `retryable` and
`retry_after` decide what happens next); tenacity retries RateLimited (honouring Retry-After), 5xx, timeouts and
connection errors, and gives up with the provider's reason. A paid *create* must not be retried when the provider
may have accepted it (a timeout after sending, a 5xx): pass `retry=only_refused` so only answers that prove
nothing was created (429, connection refused) are retried.

`poll` waits for a remote task without blocking a stop; `download` fetches an output the moment it exists.
"""

from __future__ import annotations

import email.utils
import os
import time
from pathlib import Path
from typing import Callable, Mapping, TypeVar

import httpx
import tenacity

from pipeline.errors import (
    AuthenticationFailed,
    Cancelled,
    InvalidRequest,
    ProviderError,
    ProviderFailed,
    ProviderTimeout,
    QuotaExceeded,
    RateLimited,
)
from pipeline.providers.base import StepContext

T = TypeVar("T")

# Connect fast, read patiently (image and speech endpoints answer in tens of seconds at worst).
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
ATTEMPTS = 3
MAX_WAIT = 60.0  # never sleep longer than this for one retry, whatever Retry-After says
BACKOFF = 1.0  # first back-off in seconds (doubled each time) when the provider gave no Retry-After


def poll_interval(default: float) -> float:
    """Seconds between polls of a remote task: the provider's advice, or REELSMITH_POLL_INTERVAL (tests, proxies)."""
    try:
        return float(os.environ.get("REELSMITH_POLL_INTERVAL") or default)
    except ValueError:
        return default


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` / `Retry-After` (seconds or an HTTP date); None if absent."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in lower:
            return max(0.0, float(lower["retry-after-ms"]) / 1000)
        value = lower.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.retryable


def only_refused(error: BaseException) -> bool:
    """For paid creates: retry only what proves the provider did not accept the request."""
    if isinstance(error, RateLimited):
        return error.retryable  # a hard cap (e.g. a daily limit) is a RateLimited that says retryable=False
    return isinstance(error, ProviderFailed) and error.retryable and error.status is None and "refused" in error.reason


def answered_without_output(error: BaseException) -> bool:
    """For billed synchronous calls (speech, inference): retry only what the answer proves produced nothing, a 5xx
    reply or what `only_refused` allows; a timeout may have been billed."""
    answered_5xx = isinstance(error, ProviderFailed) and error.retryable and (error.status or 0) >= 500
    return answered_5xx or only_refused(error)


def http_error(exc: BaseException, provider: str) -> ProviderError | None:
    """httpx transport failures (timeouts, refused connections) as our errors; None for anything else."""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(f"no answer in time ({type(exc).__name__})", provider=provider,
                               advice="the provider is slow or unreachable; try again later")  # fmt: skip
    if isinstance(exc, httpx.ConnectError):
        return ProviderFailed("connection refused or unreachable", provider=provider, retryable=True,
                              advice="check the network or the provider's base URL")  # fmt: skip
    if isinstance(exc, httpx.TransportError):
        return ProviderFailed(f"connection lost ({type(exc).__name__})", provider=provider, retryable=True)
    return None


def call(
    attempt: Callable[[], T],
    *,
    provider: str,
    translate: Callable[[BaseException], ProviderError | None],
    ctx: StepContext | None = None,
    retry: Callable[[BaseException], bool] = is_retryable,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run `attempt`, turning failures into ProviderErrors and retrying what `retry` allows."""

    def once() -> T:
        if ctx is not None:
            ctx.check_cancelled()
        try:
            return attempt()
        except (ProviderError, Cancelled):
            raise
        except Exception as exc:  # noqa: BLE001 - translated below, or re-raised untouched
            error = translate(exc) or http_error(exc, provider)
            if error is None:
                raise
            if not error.provider:
                error.provider = provider
            raise error from exc

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        backoff = BACKOFF * 2 ** (state.attempt_number - 1)
        return min(MAX_WAIT, asked if asked is not None else backoff)

    def pause(seconds: float) -> None:
        if sleep is not None:
            sleep(seconds)
        elif ctx is not None:
            ctx.progress_note(f"retrying in {seconds:.0f} s")
            ctx.sleep(seconds)
        else:
            time.sleep(seconds)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=wait,
        retry=tenacity.retry_if_exception(retry),
        sleep=pause,
        reraise=True,
    )
    return retrying(once)


def poll(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    ctx: StepContext,
    interval: float,
    timeout: float,
    provider: str,
    on_update: Callable[[T], None] | None = None,
) -> T:
    """Call `fetch` every `interval` seconds until `done(result)`; a stop interrupts the wait at once."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if on_update is not None:
            on_update(result)
        if done(result):
            return result
        if time.monotonic() + interval > deadline:
            raise ProviderTimeout(f"the task did not finish within {timeout:.0f} s", provider=provider,
                                  advice="try again later; the provider may be busy")  # fmt: skip
        ctx.sleep(interval)


def download(
    url: str,
    dest: Path,
    *,
    provider: str,
    ctx: StepContext,
    translate: Callable[[BaseException], ProviderError | None] | None = None,
    expired_advice: str | None = None,
    client: httpx.Client | None = None,
) -> Path:
    """Stream `url` into `dest` (through `call`, so transient failures retry).

    With `expired_advice`, `url` is a provider's signed output link: a 403/404/410 means it expired or never
    existed. The finished task is then closed in the journal (re-attaching could only fetch the dead link again)
    and the failure is reported with the advice, never silently re-paid."""

    def expired(response: httpx.Response) -> ProviderError:
        ctx.task_ended("expired")
        return ProviderFailed(f"output URL expired (HTTP {response.status_code})", provider=provider,
                              status=response.status_code, advice=expired_advice)  # fmt: skip

    def attempt() -> Path:
        owner = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
        try:
            with owner.stream("GET", url) as response:
                if response.status_code in (403, 404, 410) and expired_advice is not None:
                    raise expired(response)
                if response.status_code >= 400:
                    response.read()
                    raise status_error(response, provider)
                tmp = dest.with_suffix(dest.suffix + ".part")
                with open(tmp, "wb") as f:
                    for block in response.iter_bytes(1 << 20):
                        ctx.check_cancelled()
                        f.write(block)
                tmp.replace(dest)
                return dest
        finally:
            if client is None:
                owner.close()

    return call(attempt, provider=provider, translate=translate or (lambda exc: None), ctx=ctx)


def status_error(response: httpx.Response, provider: str, reason: str | None = None) -> ProviderError:
    """A generic mapping of an HTTP error status to our errors (providers refine it with their error bodies)."""
    code = response.status_code
    text = reason or _short(response)
    if code == 429:
        return RateLimited(f"rate limited: {text}", provider=provider, status=code,
                           retry_after=retry_after(response.headers), advice="wait and try again")  # fmt: skip
    if code in (401, 403):
        return AuthenticationFailed(f"the key was refused: {text}", provider=provider, status=code,
                                    advice="check the API key")  # fmt: skip
    if code == 402:
        return QuotaExceeded(f"out of credits: {text}", provider=provider, status=code,
                             advice="add credits or choose another provider")  # fmt: skip
    if code in (400, 404, 409, 413, 422):
        return InvalidRequest(f"request refused ({code}): {text}", provider=provider, status=code)
    if code == 408 or code >= 500:
        return ProviderFailed(f"server error {code}: {text}", provider=provider, status=code, retryable=True,
                              retry_after=retry_after(response.headers))  # fmt: skip
    return ProviderFailed(f"unexpected HTTP {code}: {text}", provider=provider, status=code)


def _short(response: httpx.Response, limit: int = 300) -> str:
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - a body we cannot decode says nothing useful
        return response.reason_phrase or ""
    text = " ".join(text.split())
    return (text[:limit] + "…") if len(text) > limit else (text or response.reason_phrase or "")
