"""Paid video provider `runway`: Runway gen4_turbo image-to-video through the `runwayml` SDK.

A clip is a remote task: submit (paid) → poll PENDING / THROTTLED / RUNNING → SUCCEEDED with an output URL that
expires in a day or two, so it is downloaded at once. The submission is journalled before we wait on it, so a
crash or a restart re-attaches instead of paying again, and a Stop deletes the task at Runway.

The SDK retries everything, the paid create included, with no idempotency key: a lost answer would create and
bill a second task. So the client never retries (`max_retries=0`) and `remote.call` decides: a create is retried
only when Runway's answer proves nothing was made (429, connection refused); polls retry transient failures.
"""

from __future__ import annotations

import base64
import io
import math
import os
from typing import Any

import httpx
from PIL import Image

from pipeline.errors import (
    AuthenticationFailed,
    Cancelled,
    InvalidRequest,
    ProviderError,
    ProviderFailed,
    ProviderTimeout,
    QuotaExceeded,
    RateLimited,
    Rejected,
)
from pipeline.providers import remote
from pipeline.providers.base import StepContext, StepOutput, VideoProvider, VideoRequest, register

LABEL = "Runway"
DEFAULT_BASE_URL = "https://api.dev.runwayml.com"
MIN_SECONDS, MAX_SECONDS = 2, 10
MAX_PROMPT_UNITS = 1000  # UTF-16 code units, as Runway counts them
MAX_DATA_URI = 5_000_000  # Runway takes data URIs up to 5 MB; stay under the smaller reading of "MB"
CREDITS_PER_SECOND = 5  # gen4_turbo
# gen4_turbo's output sizes by the aspect they serve. 1920x1080 is made at 1280:720; the segment step scales it.
RATIOS = {"1280:720": "16:9", "720:1280": "9:16", "1104:832": "4:3", "832:1104": "3:4", "960:960": "1:1",
          "1584:672": "21:9"}  # fmt: skip
RATIO_TOLERANCE = 0.03  # |log(aspect / ratio)|: 4:3 → 1104:832 is 0.5% off, 21:9 → 1584:672 1%
RETRIED_FAILURES = ("INTERNAL.BAD_OUTPUT.", "INPUT_PREPROCESSING.INTERNAL")
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
CHECK_DASHBOARD = ("Runway may have accepted (and billed) the task: check the tasks on your Runway dashboard "
                   "before rendering again")  # fmt: skip
SWITCH = "or switch the video provider to motion"


def ratio_for(width: int, height: int) -> str | None:
    """The gen4_turbo output ratio for a frame of width x height, or None when none is close enough."""
    if width <= 0 or height <= 0:
        return None

    def off(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log((width / height) / (int(w) / int(h))))

    best = min(RATIOS, key=off)
    return best if off(best) <= RATIO_TOLERANCE else None


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def image_data_uri(data: bytes, limit: int = MAX_DATA_URI) -> str:
    """The image as a data URI under `limit` characters: as is when it is a PNG/JPEG that fits, else re-encoded
    as JPEG at falling quality, then scaled down, until it fits."""

    def uri_length(mime: str, size: int) -> int:
        return len(f"data:{mime};base64,") + 4 * ((size + 2) // 3)

    def uri(mime: str, payload: bytes) -> str:
        return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the same thing to the user
        raise InvalidRequest(f"the scene's image cannot be read ({type(exc).__name__})", provider=LABEL,
                             advice="regenerate or re-upload the scene's image") from None  # fmt: skip
    mime = {"PNG": "image/png", "JPEG": "image/jpeg"}.get(image.format or "")
    if mime and uri_length(mime, len(data)) <= limit:
        return uri(mime, data)
    rgb = image.convert("RGB")
    scale = 1.0
    while min(rgb.width, rgb.height) * scale >= 64:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        frame = rgb if scale == 1.0 else rgb.resize(size, Image.Resampling.LANCZOS)
        for quality in (90, 80, 70):
            buffer = io.BytesIO()
            frame.save(buffer, "JPEG", quality=quality, optimize=True)
            if uri_length("image/jpeg", buffer.tell()) <= limit:
                return uri("image/jpeg", buffer.getvalue())
        scale *= 0.75
    raise InvalidRequest("the scene's image cannot be made small enough for Runway (5 MB)", provider=LABEL,
                         advice="use a smaller image")  # fmt: skip


def _runway_reason(exc: Any) -> str:
    """Runway's own words from an error body: `{"error": ..., "issues": [{"path": [...], "message": ...}]}`."""
    body = getattr(exc, "body", None)
    text = ""
    if isinstance(body, dict):
        text = str(body.get("error") or body.get("message") or "")
        issues = body.get("issues")
        if isinstance(issues, list):
            details = [
                f"{'.'.join(str(p) for p in issue.get('path') or []) or 'body'}: {issue.get('message', '')}"
                for issue in issues
                if isinstance(issue, dict)
            ]
            text = "; ".join(filter(None, [text, *details]))
    elif isinstance(body, str):
        text = body
    text = " ".join(text.split())
    return (text[:300] + "…" if len(text) > 300 else text) or f"HTTP {getattr(exc, 'status_code', '?')}"


def translate(exc: BaseException, *, key: str, creating: bool = False) -> ProviderError | None:
    """An SDK exception as our error, in Runway's words. `creating`: it answered the paid submission."""
    import runwayml

    if isinstance(exc, runwayml.APITimeoutError):
        sent = not isinstance(exc.__cause__, httpx.ConnectTimeout)
        return ProviderTimeout(f"no answer from Runway in time ({type(exc.__cause__).__name__})", provider=LABEL,
                               advice=CHECK_DASHBOARD if creating and sent else "Runway is slow or unreachable; "
                               "try again later")  # fmt: skip
    if isinstance(exc, runwayml.APIConnectionError):
        error = remote.http_error(exc.__cause__, LABEL) if exc.__cause__ is not None else None
        error = error or ProviderFailed("connection lost", provider=LABEL, retryable=True)
        if creating and "refused" not in error.reason:
            error.advice = CHECK_DASHBOARD
        return error
    if not isinstance(exc, runwayml.APIStatusError):
        return None
    status = exc.status_code
    reason = _runway_reason(exc).replace(key, "***")
    lower = reason.lower()
    wait = remote.retry_after(exc.response.headers)
    if status == 402 or (status in (400, 403) and "credit" in lower):
        return QuotaExceeded(f"out of credits: {reason}", provider=LABEL, status=status,
                             advice=f"add credits at Runway (dev.runwayml.com) {SWITCH}")  # fmt: skip
    if status in (401, 403):
        return AuthenticationFailed(f"the key was refused ({status}): {reason}", provider=LABEL, status=status,
                                    advice="check RUNWAYML_API_SECRET on the server or paste your own Runway key "
                                    "in the studio's Keys panel")  # fmt: skip
    if status == 429:
        if "daily" in lower or "per day" in lower or "24 hour" in lower:
            # Retrying within minutes cannot help; say so instead of burning the retries.
            return RateLimited(f"daily generation limit reached: {reason}", provider=LABEL, status=status,
                               retryable=False, retry_after=wait,
                               advice=f"wait for the limit to reset, raise your Runway tier, {SWITCH}")  # fmt: skip
        return RateLimited(f"too many requests: {reason}", provider=LABEL, status=status, retry_after=wait,
                           advice="wait a minute and try again; fewer scenes at once also helps")  # fmt: skip
    if status in (400, 422):
        return InvalidRequest(f"request refused ({status}): {reason}", provider=LABEL, status=status,
                              advice="check the scene's duration, motion prompt and image")  # fmt: skip
    if status == 404:
        return ProviderFailed(f"not found at Runway: {reason}", provider=LABEL, status=status,
                              advice="the task is gone at Runway; render the scene again")  # fmt: skip
    if status == 408 or status >= 500:
        return ProviderFailed(f"server error {status}: {reason}", provider=LABEL, status=status, retryable=True,
                              retry_after=wait,
                              advice=CHECK_DASHBOARD if creating else "Runway is having trouble; try again later")
    return ProviderFailed(f"unexpected HTTP {status}: {reason}", provider=LABEL, status=status)


def task_failure(task: Any) -> tuple[ProviderError, bool]:
    """A FAILED task as our error, and whether submitting once more may help."""
    code = getattr(task, "failure_code", None) or ""
    text = " ".join(str(getattr(task, "failure", "") or "").split()) or "no reason given"
    if code.startswith("SAFETY.") or code == "INPUT_PREPROCESSING.SAFETY.TEXT":
        if code in ("SAFETY.INPUT.TEXT", "INPUT_PREPROCESSING.SAFETY.TEXT"):
            refused, advice = "motion prompt", "reword the scene's motion prompt"
        elif code.startswith("SAFETY.INPUT.IMAGE"):
            refused, advice = "image", "use a different image for the scene"
        elif code.startswith("SAFETY.INPUT."):
            refused, advice = "input", "change the scene's image or motion prompt"
        else:
            refused, advice = "output", "change the motion prompt or the seed and try again"
        return Rejected(f"moderation refused the {refused} ({code}): {text}", refused=refused, provider=LABEL,
                        advice=advice), False  # fmt: skip
    if code.startswith(RETRIED_FAILURES):
        return ProviderFailed(f"the clip failed twice ({code}): {text}", provider=LABEL,
                              advice="try another seed or image; text or graphics in the image can cause this"), True
    detail = f" ({code})" if code else ""
    return ProviderFailed(f"the task failed{detail}: {text}", provider=LABEL,
                          advice=f"try again later {SWITCH}"), False  # fmt: skip


@register
class RunwayVideoProvider(VideoProvider):
    name = "runway"
    label = LABEL
    version = "1"
    default_model = "gen4_turbo"
    models = ("gen4_turbo",)
    needs_key = True
    key_env_var = "RUNWAYML_API_SECRET"
    base_url_env_var = "RUNWAYML_BASE_URL"
    offline = False
    local_cpu = False
    paid = True
    # Tier 1 runs 1-2 gen4_turbo tasks at once; more only wait THROTTLED at Runway, holding our slots meanwhile.
    max_concurrency = 2

    POLL_INTERVAL = remote.poll_interval(5.0)  # Runway asks for no faster than every 5 s
    TASK_TIMEOUT = 30 * 60.0  # a THROTTLED queue can be long; the journal lets a later run pick the task up
    CONNECT_TIMEOUT = 10.0
    CREATE_TIMEOUT = 60.0  # up to 5 MB of image goes up with the submission
    POLL_REQUEST_TIMEOUT = 20.0
    DELETE_TIMEOUT = 5.0  # best effort while the user waits for Stop to take effect

    def cache_fields(self, request: VideoRequest) -> dict[str, Any]:
        # The frame size only matters through the ratio; the delivery profile is a hint for local encoders.
        return {"model": self.resolve_model(request.model), "image": request.image_sha256,
                "prompt": request.prompt.strip(), "duration": request.duration, "seed": request.seed,
                "ratio": ratio_for(request.width, request.height),
                "public_figure_threshold": request.public_figure_threshold}  # fmt: skip

    def check(self, request: VideoRequest) -> list[str]:
        problems = []
        model = self.resolve_model(request.model)
        if model not in self.models:
            problems.append(f"Runway model '{model}' is not supported; use {', '.join(self.models)}")
        if not MIN_SECONDS <= request.duration <= MAX_SECONDS:
            problems.append(f"Runway makes clips of {MIN_SECONDS} to {MAX_SECONDS} seconds; this scene asks for "
                            f"{request.duration} s")  # fmt: skip
        units = utf16_units(request.prompt.strip())
        if units > MAX_PROMPT_UNITS:
            problems.append(f"the motion prompt is {units} characters (UTF-16 units) long; Runway accepts at most "
                            f"{MAX_PROMPT_UNITS}: shorten it by {units - MAX_PROMPT_UNITS}")  # fmt: skip
        if ratio_for(request.width, request.height) is None:
            allowed = ", ".join(f"{aspect} ({ratio})" for ratio, aspect in RATIOS.items())
            problems.append(f"Runway cannot make a {request.width}x{request.height} clip; its aspect ratios are "
                            f"{allowed}")  # fmt: skip
        return problems

    # -----------------------------------------------------------------------------------------------------------

    def generate(self, request: VideoRequest, ctx: StepContext) -> StepOutput:
        import runwayml

        self.refuse_if_unfit(request)
        key = ctx.key(self.key_env_var, LABEL)
        base_url = os.environ.get(self.base_url_env_var) or DEFAULT_BASE_URL
        timeout = httpx.Timeout(self.POLL_REQUEST_TIMEOUT, connect=self.CONNECT_TIMEOUT)
        # max_retries=0: every retry is remote.call's decision (see the module docstring).
        with runwayml.RunwayML(api_key=key, base_url=base_url, max_retries=0, timeout=timeout) as client:
            return _Job(self, client, request, ctx, key).run()


class _Job:
    """One clip: submit (or re-attach), wait, deliver; at most one more submission after a Runway-side fault."""

    def __init__(self, provider: RunwayVideoProvider, client: Any, request: VideoRequest, ctx: StepContext,
                 key: str) -> None:  # fmt: skip
        self.p, self.client, self.request, self.ctx, self.key = provider, client, request, ctx, key
        self.ratio = ratio_for(request.width, request.height)
        self.model = provider.resolve_model(request.model)

    def call(self, attempt: Any, *, creating: bool = False, **kwargs: Any) -> Any:
        return remote.call(attempt, provider=LABEL, ctx=kwargs.pop("ctx", self.ctx),
                           translate=lambda exc: translate(exc, key=self.key, creating=creating), **kwargs)  # fmt: skip

    def run(self) -> StepOutput:
        pending = self.ctx.pending_task()
        task_id: str | None = pending["id"] if pending else None
        reattached, resubmitted = task_id is not None, False
        while True:
            if task_id is None:
                task_id = self.submit()
            try:
                task = self.wait(task_id)
            except ProviderError as error:
                if not (reattached and error.status == 404):
                    raise
                # A journalled task Runway no longer knows (deleted, or long gone): submit anew.
                self.ctx.task_ended("missing")
                task_id, reattached = None, False
                continue
            if task.status == "SUCCEEDED":
                return self.deliver(task)
            self.ctx.task_ended(task.status)
            if task.status == "CANCELLED":
                raise ProviderFailed("the task was cancelled at Runway", provider=LABEL,
                                     advice="it was cancelled outside Reelsmith; render again to submit it anew")
            error, worth_retrying = task_failure(task)
            if not worth_retrying or resubmitted:
                raise error
            resubmitted, task_id, reattached = True, None, False
            self.ctx.progress_note("Runway could not make this clip; trying once more")

    def submit(self) -> str:
        request = self.request
        body: dict[str, Any] = {
            "model": self.model,
            "prompt_image": image_data_uri(request.image_path.read_bytes()),
            "ratio": self.ratio,
            "duration": request.duration,
            "seed": request.seed,
            "content_moderation": {"public_figure_threshold": request.public_figure_threshold},
        }
        if request.prompt.strip():  # Runway refuses an empty promptText; absent means "no prompt"
            body["prompt_text"] = request.prompt.strip()
        timeout = httpx.Timeout(self.p.CREATE_TIMEOUT, connect=self.p.CONNECT_TIMEOUT)
        self.ctx.progress(0.02, "submitting to Runway")
        with self.ctx.submitting(self.p.name, LABEL):
            created = self.call(lambda: self.client.with_options(max_retries=0, timeout=timeout)
                                .image_to_video.create(**body), creating=True, retry=remote.only_refused)  # fmt: skip
        self.ctx.task_submitted(self.p.name, created.id)
        return created.id

    def wait(self, task_id: str) -> Any:
        last = {"status": None}

        def fetch() -> Any:
            return self.call(lambda: self.client.tasks.retrieve(task_id, timeout=self.p.POLL_REQUEST_TIMEOUT))

        def update(task: Any) -> None:
            changed, last["status"] = task.status != last["status"], task.status
            if task.status == "RUNNING":
                self.ctx.progress(0.05 + 0.85 * max(0.0, min(1.0, float(task.progress or 0.0))))
            elif changed and task.status == "PENDING":
                self.ctx.progress_note("waiting at Runway")
            elif changed and task.status == "THROTTLED":
                self.ctx.progress_note("queued at Runway")

        try:
            return remote.poll(fetch, lambda task: task.status in TERMINAL, ctx=self.ctx, interval=self.p.POLL_INTERVAL,
                               timeout=self.p.TASK_TIMEOUT, provider=LABEL, on_update=update)  # fmt: skip
        except Cancelled:
            if not self.ctx.cancel.keep_remote_tasks:  # a person's Stop: stop paying. A lost watcher: keep it
                self.delete(task_id)
            raise
        except ProviderTimeout as error:
            error.advice = "the task is still at Runway: render again later to pick it up without paying again"
            raise

    def delete(self, task_id: str) -> None:
        """Stop paying for a task the user stopped. Best effort: the stop must not wait on Runway."""
        try:
            # ctx=None: remote.call would refuse to start once the render is stopped.
            self.call(lambda: self.client.tasks.delete(task_id, timeout=self.p.DELETE_TIMEOUT), ctx=None, attempts=1)
        except ProviderError as error:
            if error.status != 404:  # still at Runway: keep it journalled so a later run can pick it up
                self.ctx.warn(f"Runway: could not cancel the task ({error.reason}); it may still finish")
                return
        except Exception:  # noqa: BLE001 - whatever went wrong, the stop itself goes ahead
            return
        self.ctx.task_ended("CANCELLED")

    def deliver(self, task: Any) -> StepOutput:
        outputs = list(getattr(task, "output", None) or [])
        if not outputs:
            self.ctx.task_ended("SUCCEEDED")
            raise ProviderFailed("the task succeeded without an output", provider=LABEL, advice="try again")
        self.ctx.progress(0.92, "downloading the clip")

        path = remote.download(outputs[0], self.ctx.workdir / "clip.mp4", provider=LABEL, ctx=self.ctx,
                               expired_advice="Runway's links last 24-48 h; render the scene again to make a new "
                               "clip")  # fmt: skip
        self.ctx.progress(1.0)
        cost = getattr(getattr(task, "cost", None), "credits", None)
        return StepOutput(path, {
            "provider_task_id": task.id,
            "model": self.model,
            "ratio": self.ratio,
            "seconds": self.request.duration,
            "credits": cost if cost is not None else CREDITS_PER_SECOND * self.request.duration,
        })  # fmt: skip
