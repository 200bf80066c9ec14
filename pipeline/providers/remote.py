"""The one place every external call goes through: timeouts, retries of what is retryable, our own errors, and
the one protocol of a paid remote task.

Errors: `ErrorMap` is one declarative table, an HTTP status (and what the provider's body says) → our error; the
most specific row wins. A provider reads its own error body (its reason, its code) and adds only the rows and
advice that differ from the common ones (`ANSWERS`, and `NO_ANSWER` for timeouts and lost connections).

Calls: providers wrap each request (an SDK call or an httpx request) in `call(...)`:

    task = call(lambda: client.tasks.retrieve(task_id), errors=ERRORS, translate=translate, ctx=ctx)

`translate` turns what an SDK raised into a `ProviderError` (through the map); httpx failures are mapped by the
map itself. tenacity retries RateLimited (honouring Retry-After), 5xx, timeouts and connection errors, and gives up
with the provider's reason. A paid *create* must not be retried when the provider may have accepted it (a timeout
after sending, a 5xx): `retry=only_refused` retries only answers that prove nothing was created (429, refused).

Remote tasks: `RemoteTask` is submit → journal → poll → deliver, once; Runway and BFL fill in their wire.
`poll` waits without blocking a stop; `download` fetches an output the moment it exists.
"""

from __future__ import annotations

import email.utils
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Collection, Literal, Mapping, TypeVar

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
# only_refused and nothing_created live with the error types (providers.base asks them too, without importing us).
from pipeline.errors import nothing_created, only_refused  # noqa: F401 - part of this module's interface
from pipeline.providers.base import StepContext, StepOutput

T = TypeVar("T")

ATTEMPTS = 3
MAX_WAIT = 60.0  # never sleep longer than this for one retry, whatever Retry-After says
BACKOFF = 1.0  # first back-off in seconds (doubled each time) when the provider gave no Retry-After


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


def answered_without_output(error: BaseException) -> bool:
    """For billed synchronous calls (speech, inference): retry only what the answer proves produced nothing, a 5xx
    reply or what `only_refused` allows; a timeout may have been billed."""
    answered_5xx = isinstance(error, ProviderFailed) and error.retryable and (error.status or 0) >= 500
    return answered_5xx or only_refused(error)


def call(
    attempt: Callable[[], T],
    *,
    errors: ErrorMap,
    translate: Callable[[BaseException], ProviderError | None] | None = None,
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
            error = (translate(exc) if translate is not None else None) or errors.transport(exc)
            if error is None:
                raise
            if not error.provider:
                error.provider = errors.provider
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
    errors: ErrorMap,
    ctx: StepContext,
    expired_advice: str | None = None,
    client: httpx.Client | None = None,
) -> Path:
    """Stream `url` into `dest` (through `call`, so transient failures retry).

    With `expired_advice`, `url` is a provider's signed output link: a 403/404/410 means it expired or never
    existed. The finished task is then closed in the journal (re-attaching could only fetch the dead link again)
    and the failure is reported with the advice, never silently re-paid."""

    def expired(response: httpx.Response) -> ProviderError:
        ctx.task_ended("expired")
        return ProviderFailed(f"output URL expired (HTTP {response.status_code})", provider=errors.provider,
                              status=response.status_code, advice=expired_advice or "")  # fmt: skip

    def attempt() -> Path:
        read, connect = ctx.http_timeout  # the engine's settings (pipeline/services.py)
        owner = client or httpx.Client(timeout=httpx.Timeout(read, connect=connect), follow_redirects=True)
        try:
            with owner.stream("GET", url) as response:
                if response.status_code in (403, 404, 410) and expired_advice is not None:
                    raise expired(response)
                if response.status_code >= 400:
                    response.read()
                    raise errors.answer(response.status_code, _text(response), headers=response.headers)
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

    return call(attempt, errors=errors, ctx=ctx)


def _text(response: httpx.Response) -> str:
    try:
        return response.text or response.reason_phrase or ""
    except Exception:  # noqa: BLE001 - a body we cannot decode says nothing useful
        return response.reason_phrase or ""


# ---------------------------------------------------------------------------------------------------------------
# The status → error map


@dataclass(frozen=True)
class Rule:
    """One row of the error map: the answers (or transport failures) it covers and the error they become.

    `what` opens the error's reason, the provider's own words follow it; `{status}`, `{name}` (the exception's
    class) and the caller's fields are filled in. A provider overrides a row's advice by the row's `name`."""

    name: str
    error: type[ProviderError]
    what: str
    status: Collection[int] = ()  # the HTTP statuses it covers; empty: any
    code: tuple[str, ...] = ()  # the provider's error code read from the body (ElevenLabs' detail.status)
    says: tuple[str, ...] = ()  # words in the provider's reason, lower case, any of them
    raised: str = ""  # a failure without an answer: the httpx exception class (httpx2, its copy, alike)
    advice: str = ""
    retryable: bool | None = None

    def covers(self, status: int, code: str, reason: str) -> bool:
        return ((not self.status or status in self.status) and (not self.code or code in self.code)
                and (not self.says or any(word in reason.lower() for word in self.says)))  # fmt: skip

    @property
    def specificity(self) -> tuple[bool, int]:
        """What the body says beats the status alone; one status beats several; a rule for any status is last."""
        return bool(self.code or self.says), -(len(self.status) if self.status else 1000)


# Every provider's answers, unless its own rows say more (most specific wins; on a tie, the provider's row).
ANSWERS = (
    Rule("rate_limited", RateLimited, "too many requests", (429,),
         advice="wait a minute and try again; fewer scenes at once also helps"),
    Rule("bad_key", AuthenticationFailed, "the key was refused ({status})", (401, 403),
         advice="check {key_env_var} on the server or paste your own key in the studio's Keys panel"),
    Rule("no_credit", QuotaExceeded, "out of credits", (402,), advice="add credits or choose another provider"),
    Rule("bad_request", InvalidRequest, "request refused ({status})", range(400, 500)),
    Rule("server_error", ProviderFailed, "server error {status}", (408,), retryable=True),
    Rule("server_error", ProviderFailed, "server error {status}", range(500, 600), retryable=True),
    Rule("unexpected", ProviderFailed, "unexpected HTTP {status}"),
)  # fmt: skip
# Failures without an answer, by the httpx exception's class (its most specific class in this table wins).
NO_ANSWER = (
    Rule("timeout", ProviderTimeout, "no answer in time ({name})", raised="TimeoutException",
         advice="{provider} is slow or unreachable; try again later"),
    Rule("unreachable", ProviderFailed, "connection refused or unreachable", raised="ConnectError", retryable=True,
         advice="check the network or the provider's base URL"),
    Rule("lost", ProviderFailed, "connection lost ({name})", raised="TransportError", retryable=True),
)  # fmt: skip
# A provider's own row without advice says what the common row of the same name says.
COMMON_ADVICE = {rule.name: rule.advice for rule in (*ANSWERS, *NO_ANSWER) if rule.advice}
HTTPX_MODULES = ("httpx", "httpx2")  # huggingface_hub 2.4 sends through httpx2, a copy of httpx


@dataclass(frozen=True)
class ErrorMap:
    """A provider's status → error map: its own rows over ANSWERS and NO_ANSWER, and its advice by row name.
    The provider reads its error body (its reason, its code) and hands them in; the map decides the error."""

    provider: str
    key_env_var: str = "the API key"
    rules: tuple[Rule, ...] = ()
    advice: Mapping[str, str] = field(default_factory=dict)

    def answer(self, status: int, reason: str, *, code: str = "", headers: Mapping[str, str] | None = None,
               wait: float | None = None, secret: str | None = None, **fields: Any) -> ProviderError:  # fmt: skip
        """The error for an HTTP answer. `reason`: the provider's words (`secret` is blanked out of them);
        `wait`: the body's own hint of when to retry, used when no Retry-After header came."""
        reason = _tidy(reason, secret) or f"HTTP {status}"
        candidates = [r for r in (*self.rules, *ANSWERS) if not r.raised and r.covers(status, code, reason)]
        rule = max(candidates, key=lambda r: r.specificity)  # max keeps the first of equals: the provider's
        asked = retry_after(headers)
        return self._error(rule, reason, status=status, retry_after=asked if asked is not None else wait, **fields)

    def transport(self, exc: BaseException | None) -> ProviderError | None:
        """The error for a request that got no answer (httpx or httpx2 exceptions); None for anything else."""
        if exc is None:
            return None
        classes = [c.__name__ for c in type(exc).__mro__ if c.__module__.split(".")[0] in HTTPX_MODULES]
        for name in classes:
            for rule in (*self.rules, *NO_ANSWER):
                if rule.raised == name:
                    return self._error(rule, "", name=type(exc).__name__)
        return None

    def named(self, row: str, reason: str = "", **fields: Any) -> ProviderError:
        """The error of the row called `row` (for an SDK failure that carries no httpx exception)."""
        rule = next(r for r in (*self.rules, *ANSWERS, *NO_ANSWER) if r.name == row)
        return self._error(rule, reason, **fields)

    def _error(self, rule: Rule, reason: str, *, status: int | None = None, retry_after: float | None = None,
               **fields: Any) -> ProviderError:  # fmt: skip
        values = {"status": status, "provider": self.provider, "key_env_var": self.key_env_var, **fields}
        what = rule.what.format(**values)
        advice = (self.advice.get(rule.name) or rule.advice or COMMON_ADVICE.get(rule.name, "")).format(**values)
        extra: dict[str, Any] = {} if rule.retryable is None else {"retryable": rule.retryable}
        return rule.error(f"{what}: {reason}" if reason else what, provider=self.provider, status=status,
                          retry_after=retry_after, advice=advice, **extra)  # fmt: skip


def _tidy(text: str, secret: str | None = None, limit: int = 300) -> str:
    """A provider's words on one line, at most `limit` characters, never with the key in them."""
    text = " ".join(str(text or "").split())
    if secret:
        text = text.replace(secret, "***")
    return (text[:limit] + "…") if len(text) > limit else text


# ---------------------------------------------------------------------------------------------------------------
# The remote-task protocol: submit → journal → poll → deliver


@dataclass(frozen=True)
class TaskRef:
    """A submitted task: its id and what else re-attaching needs (BFL's polling URL), as kept in the journal."""

    id: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskState:
    """One poll's answer in the protocol's words. `status` is the provider's own word (the journal keeps it)."""

    status: str
    phase: Literal["waiting", "succeeded", "failed", "cancelled", "missing"]
    progress: float | None = None  # 0..1 while it runs
    note: str | None = None  # said once each time the status changes ("queued at Runway")
    url: str | None = None  # the output, once succeeded
    answer: Any = None  # the provider's whole answer, for its failure and delivery hooks
    error: ProviderError | None = None  # what the poll raised (a task the provider no longer knows)


def never_sent(error: BaseException) -> bool:
    """The request never left: the connection itself failed (somewhere in the chain of causes)."""
    cause = error.__cause__
    while cause is not None:
        if type(cause).__name__ in ("ConnectTimeout", "ConnectError"):
            return True
        cause = cause.__cause__
    return False


class RemoteTask(ABC):
    """One paid remote task, start to finish; a provider fills in its wire and nothing else.

        run: re-attach to the journalled task, or submit one → poll until it ends → deliver at once
             (a task the provider forgot after a restart is submitted anew; a failure `failure` calls worth it
             is submitted once more)
        submit: journal `submitting` → the paid create, retried only when refused → journal the task id
        poll: stop-aware, one note per status change, progress; a Stop cancels the task (unless only the page
              went away); a timeout leaves it journalled for a later run
        deliver: download the output the moment it exists (an expired link is reported, never re-paid)

    Hooks: `create` (one attempt of the paid request), `accepted` (its answer → TaskRef), `fetch` (one poll),
    `read` (a poll's answer → TaskState), `failure`, `finish` (the downloaded file → StepOutput) and, for a
    provider that can cancel, `cancel` with `can_cancel = True`. Errors in the wire's words come from `errors`
    through `translate` (SDK exceptions) or raised by the hooks themselves."""

    name: ClassVar[str]  # the provider's registry name, as the journal keeps it
    label: ClassVar[str]  # for warnings
    short: ClassVar[str]  # for notes: "submitting to Runway"
    output: ClassVar[str]  # what is made: "clip"
    download_as: ClassVar[str]  # the file in the work folder the output is downloaded to
    errors: ClassVar[ErrorMap]
    check_dashboard: ClassVar[str]  # advice when a submission may have been accepted (and billed) unheard
    expired_advice: ClassVar[str]  # when the output link no longer works
    can_cancel: ClassVar[bool] = False

    def __init__(self, ctx: StepContext, *, interval: float, timeout: float) -> None:
        """`interval`: the provider's advice between polls; the engine's settings may set another (a proxy, tests)."""
        self.ctx, self.timeout = ctx, timeout
        self.interval = ctx.poll_interval if ctx.poll_interval is not None else interval

    # The hooks -------------------------------------------------------------------------------------------------

    @abstractmethod
    def create(self) -> Any:
        """One attempt of the paid create request; its answer goes to `accepted`."""

    @abstractmethod
    def accepted(self, created: Any) -> TaskRef:
        """The task the create answer names (an empty id is reported as an accepted task without an id)."""

    @abstractmethod
    def fetch(self, task: TaskRef) -> Any:
        """One poll of the task."""

    @abstractmethod
    def read(self, answer: Any) -> TaskState:
        """A poll's answer in the protocol's words."""

    @abstractmethod
    def finish(self, path: Path, state: TaskState, task: TaskRef) -> StepOutput:
        """The downloaded output as the step's result."""

    def translate(self, exc: BaseException) -> ProviderError | None:
        """An SDK's exception as our error (None: let `errors` map an httpx failure)."""
        return None

    def cancel(self, task: TaskRef) -> None:
        """One attempt at cancelling the task at the provider (only with `can_cancel`)."""

    def failure(self, state: TaskState) -> tuple[ProviderError, bool]:
        """A task that ended without an output as our error, and whether submitting once more may help."""
        if state.error is not None:
            return state.error, False
        if state.phase == "cancelled":
            return ProviderFailed(f"the task was cancelled at {self.short}", provider=self.label,
                                  advice="it was cancelled outside Reelsmith; render again to submit it anew"), False
        if state.phase == "missing":
            return ProviderFailed(f"{self.short} no longer knows the task", provider=self.label,
                                  advice="render the scene again to submit it anew"), False  # fmt: skip
        return ProviderFailed(f"the task failed ({state.status})", provider=self.label), False

    # The protocol ----------------------------------------------------------------------------------------------

    def call(self, attempt: Callable[[], T], **kwargs: Any) -> T:
        return call(attempt, errors=self.errors, translate=self.translate, ctx=kwargs.pop("ctx", self.ctx), **kwargs)

    def run(self) -> StepOutput:
        pending = self.ctx.pending_task()
        task = TaskRef(pending["id"], {k: v for k, v in pending.items() if k not in ("id", "provider")}) \
            if pending else None  # fmt: skip
        reattached, resubmitted = task is not None, False
        while True:
            task = task or self.submit()
            state = self.wait(task)
            if state.phase == "succeeded":
                return self.deliver(state, task)
            self.ctx.task_ended(state.status)
            if state.phase == "missing" and reattached:  # a journalled task the provider forgot: submit anew
                task, reattached = None, False
                continue
            error, worth_retrying = self.failure(state)
            if not worth_retrying or resubmitted:
                raise error
            task, reattached, resubmitted = None, False, True
            self.ctx.progress_note(f"{self.short} could not make this {self.output}; trying once more")

    def submit(self) -> TaskRef:
        self.ctx.progress(0.02, f"submitting to {self.short}")
        with self.ctx.submitting(self.name, self.label):
            try:
                created = self.call(self.create, retry=only_refused)
            except ProviderError as error:
                if not (nothing_created(error) or never_sent(error)):
                    error.advice = self.check_dashboard
                raise
        task = self.accepted(created)
        if not task.id:
            raise ProviderFailed(f"{self.short} accepted the task without an id", provider=self.label,
                                 advice=self.check_dashboard)  # fmt: skip
        self.ctx.task_submitted(self.name, task.id, **task.extra)
        return task

    def wait(self, task: TaskRef) -> TaskState:
        last: dict[str, str | None] = {"status": None}

        def fetch() -> TaskState:
            try:
                return self.read(self.call(lambda: self.fetch(task)))
            except ProviderError as error:
                if error.status != 404:
                    raise
                return TaskState("missing", "missing", error=error)

        def update(state: TaskState) -> None:
            changed, last["status"] = state.status != last["status"], state.status
            if changed and state.note:
                self.ctx.progress_note(state.note)
            if state.progress is not None:
                self.ctx.progress(0.05 + 0.85 * max(0.0, min(1.0, state.progress)))

        try:
            return poll(fetch, lambda state: state.phase != "waiting", ctx=self.ctx, interval=self.interval,
                        timeout=self.timeout, provider=self.label, on_update=update)  # fmt: skip
        except Cancelled:
            if self.can_cancel and not self.ctx.cancel.keep_remote_tasks:  # a person's Stop: stop paying
                self.stop(task)
            raise
        except ProviderTimeout as error:
            error.advice = f"the task is still at {self.short}: render again later to pick it up without paying again"
            raise

    def stop(self, task: TaskRef) -> None:
        """Cancel a task the user stopped. Best effort: the stop must not wait on the provider."""
        try:
            # ctx=None: call would refuse to start once the render is stopped.
            self.call(lambda: self.cancel(task), ctx=None, attempts=1)
        except ProviderError as error:
            if error.status != 404:  # still there: keep it journalled so a later run can pick it up
                self.ctx.warn(f"{self.short}: could not cancel the task ({error.reason}); it may still finish")
                return
        except Exception:  # noqa: BLE001 - whatever went wrong, the stop itself goes ahead
            return
        self.ctx.task_ended("CANCELLED")

    def deliver(self, state: TaskState, task: TaskRef) -> StepOutput:
        if not state.url:
            self.ctx.task_ended(state.status)
            raise ProviderFailed(f"the task ended ({state.status}) without an output", provider=self.label,
                                 advice="try again")  # fmt: skip
        self.ctx.progress(0.92, f"downloading the {self.output}")
        path = download(state.url, self.ctx.workdir / self.download_as, errors=self.errors, ctx=self.ctx,
                        expired_advice=self.expired_advice)  # fmt: skip
        out = self.finish(path, state, task)
        self.ctx.progress(1.0)
        return out
