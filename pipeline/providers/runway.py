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
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from pipeline.errors import InvalidRequest, ProviderError, ProviderFailed, QuotaExceeded, RateLimited, Rejected
from pipeline.providers import remote
from pipeline.providers.base import Price, Prices, StepContext, StepOutput, VideoProvider, VideoRequest, register

LABEL = "Runway"
DEFAULT_BASE_URL = "https://api.dev.runwayml.com"
MIN_SECONDS, MAX_SECONDS = 2, 10
MAX_PROMPT_UNITS = 1000  # UTF-16 code units, as Runway counts them
MAX_DATA_URI = 5_000_000  # Runway takes data URIs up to 5 MB; stay under the smaller reading of "MB"
CREDITS_PER_SECOND = 5  # gen4_turbo
USD_PER_CREDIT = 0.01
# gen4_turbo's output sizes by the aspect they serve. 1920x1080 is made at 1280:720; the segment step scales it.
RATIOS = {"1280:720": "16:9", "720:1280": "9:16", "1104:832": "4:3", "832:1104": "3:4", "960:960": "1:1",
          "1584:672": "21:9"}  # fmt: skip
RATIO_TOLERANCE = 0.03  # |log(aspect / ratio)|: 4:3 → 1104:832 is 0.5% off, 21:9 → 1584:672 1%
RETRIED_FAILURES = ("INTERNAL.BAD_OUTPUT.", "INPUT_PREPROCESSING.INTERNAL")
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


def _runway_reason(body: Any) -> str:
    """Runway's own words from an error body: `{"error": ..., "issues": [{"path": [...], "message": ...}]}`."""
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return ""
    issues = body.get("issues") if isinstance(body.get("issues"), list) else []
    details = [f"{'.'.join(str(p) for p in issue.get('path') or []) or 'body'}: {issue.get('message', '')}"
               for issue in issues if isinstance(issue, dict)]  # fmt: skip
    return "; ".join(filter(None, [str(body.get("error") or body.get("message") or ""), *details]))


ERRORS = remote.ErrorMap(
    LABEL,
    key_env_var="RUNWAYML_API_SECRET",
    rules=(
        remote.Rule("no_credit", QuotaExceeded, "out of credits", (400, 403), says=("credit",)),
        # Retrying within minutes cannot help a daily cap; say so instead of burning the retries.
        remote.Rule("daily_cap", RateLimited, "daily generation limit reached", (429,), retryable=False,
                    says=("daily", "per day", "24 hour"),
                    advice=f"wait for the limit to reset, raise your Runway tier, {SWITCH}"),
        remote.Rule("gone", ProviderFailed, "not found at Runway", (404,),
                    advice="the task is gone at Runway; render the scene again"),
    ),
    advice={"no_credit": f"add credits at Runway (dev.runwayml.com) {SWITCH}",
            "bad_request": "check the scene's duration, motion prompt and image",
            "server_error": "Runway is having trouble; try again later"},
)  # fmt: skip
# Failure codes → what moderation refused and what to change; the longest matching prefix wins. The others:
# INTERNAL.* / INPUT_PREPROCESSING.INTERNAL are submitted once more, anything else is reported.
REFUSALS = {
    "SAFETY.INPUT.TEXT": ("motion prompt", "reword the scene's motion prompt"),
    "INPUT_PREPROCESSING.SAFETY.TEXT": ("motion prompt", "reword the scene's motion prompt"),
    "SAFETY.INPUT.IMAGE": ("image", "use a different image for the scene"),
    "SAFETY.INPUT.": ("input", "change the scene's image or motion prompt"),
    "SAFETY.": ("output", "change the motion prompt or the seed and try again"),
}


def translate(exc: BaseException, *, key: str) -> ProviderError | None:
    """An SDK exception as our error, through Runway's error map."""
    import runwayml

    if isinstance(exc, runwayml.APIStatusError):
        return ERRORS.answer(exc.status_code, _runway_reason(getattr(exc, "body", None)), secret=key,
                             headers=exc.response.headers)  # fmt: skip
    if isinstance(exc, runwayml.APIConnectionError):  # APITimeoutError too: the httpx failure is its cause
        timed_out = isinstance(exc, runwayml.APITimeoutError)
        return ERRORS.transport(exc.__cause__) or ERRORS.named("timeout" if timed_out else "lost",
                                                               name=type(exc).__name__)
    return None


def task_failure(task: Any) -> tuple[ProviderError, bool]:
    """A FAILED task as our error, and whether submitting once more may help."""
    code = getattr(task, "failure_code", None) or ""
    text = " ".join(str(getattr(task, "failure", "") or "").split()) or "no reason given"
    prefix = max((p for p in REFUSALS if code.startswith(p)), key=len, default=None)
    if prefix is not None:
        refused, advice = REFUSALS[prefix]
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
    display_name = "Runway gen4_turbo"
    version = "1"
    default_model = "gen4_turbo"
    models = ("gen4_turbo",)
    needs_key = True
    key_env_var = ERRORS.key_env_var  # one name for the key: the error map's advice says it too
    base_url_env_var = "RUNWAYML_BASE_URL"
    default_base_url = DEFAULT_BASE_URL
    offline = False
    paid = True
    prices = Prices("2026-11", {
        "gen4_turbo": Price("second", CREDITS_PER_SECOND * USD_PER_CREDIT,
                            "Runway: gen4_turbo 5 credits per second, 1 credit = $0.01"),
    })  # fmt: skip
    # Tier 1 runs 1-2 gen4_turbo tasks at once; more only wait THROTTLED at Runway, holding our slots meanwhile.
    max_concurrency = 2

    POLL_INTERVAL = 5.0  # Runway asks for no faster than every 5 s (the engine's settings may set another)
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

    def check_request(self, request: VideoRequest) -> list[str]:
        problems = []
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

    def client(self, key: str) -> Any:
        import runwayml

        timeout = httpx.Timeout(self.POLL_REQUEST_TIMEOUT, connect=self.CONNECT_TIMEOUT)
        # max_retries=0: every retry is remote.call's decision (see the module docstring).
        return runwayml.RunwayML(api_key=key, base_url=self.base_url(), max_retries=0, timeout=timeout)

    def generate(self, request: VideoRequest, ctx: StepContext) -> StepOutput:
        self.refuse_if_unfit(request)
        key = ctx.key(self.key_env_var, LABEL)
        with self.client(key) as client:
            return RunwayTask(self, client, request, ctx, key).run()


class RunwayTask(remote.RemoteTask):
    """One clip as a remote task: Runway's wire (the SDK) in the protocol's hooks."""

    name, label, short, output, download_as = "runway", LABEL, "Runway", "clip", "clip.mp4"
    errors, check_dashboard, can_cancel = ERRORS, CHECK_DASHBOARD, True
    expired_advice = "Runway's links last 24-48 h; render the scene again to make a new clip"

    def __init__(self, provider: RunwayVideoProvider, client: Any, request: VideoRequest, ctx: StepContext,
                 key: str) -> None:  # fmt: skip
        super().__init__(ctx, interval=provider.POLL_INTERVAL, timeout=provider.TASK_TIMEOUT)
        self.p, self.client, self.request, self.key = provider, client, request, key
        self.ratio = ratio_for(request.width, request.height)
        self.model = provider.resolve_model(request.model)

    def translate(self, exc: BaseException) -> ProviderError | None:
        return translate(exc, key=self.key)

    def create(self) -> Any:
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
        return self.client.with_options(max_retries=0, timeout=timeout).image_to_video.create(**body)

    def accepted(self, created: Any) -> remote.TaskRef:
        return remote.TaskRef(created.id)

    def fetch(self, task: remote.TaskRef) -> Any:
        return self.client.tasks.retrieve(task.id, timeout=self.p.POLL_REQUEST_TIMEOUT)

    def read(self, answer: Any) -> remote.TaskState:
        status = answer.status
        if status == "SUCCEEDED":
            outputs = list(getattr(answer, "output", None) or [])
            return remote.TaskState(status, "succeeded", url=outputs[0] if outputs else None, answer=answer)
        if status in ("FAILED", "CANCELLED"):
            return remote.TaskState(status, "failed" if status == "FAILED" else "cancelled", answer=answer)
        progress = float(answer.progress or 0.0) if status == "RUNNING" else None
        note = {"PENDING": "waiting at Runway", "THROTTLED": "queued at Runway"}.get(status)
        return remote.TaskState(status, "waiting", progress=progress, note=note, answer=answer)

    def failure(self, state: remote.TaskState) -> tuple[ProviderError, bool]:
        return task_failure(state.answer) if state.phase == "failed" else super().failure(state)

    def cancel(self, task: remote.TaskRef) -> None:
        self.client.tasks.delete(task.id, timeout=self.p.DELETE_TIMEOUT)

    def finish(self, path: Path, state: remote.TaskState, task: remote.TaskRef) -> StepOutput:
        cost = getattr(getattr(state.answer, "cost", None), "credits", None)
        return StepOutput(path, {
            "provider_task_id": task.id,
            "model": self.model,
            "ratio": self.ratio,
            "seconds": self.request.duration,
            "credits": cost if cost is not None else CREDITS_PER_SECOND * self.request.duration,
        })  # fmt: skip
