"""Paid image provider `bfl`: Black Forest Labs' FLUX API over httpx.

An image is a remote task: submit (paid) → `{id, polling_url}` → poll `Pending` → `Ready` with a signed sample URL
that lives 10 minutes, so it is downloaded the moment it exists. The task is journalled before we wait on it, so
a crash or a restart re-attaches instead of paying again. The submission is retried only when BFL's answer proves
nothing was accepted (429, a refused connection); polls retry any transient failure.

FLUX 1.1 [pro] and [dev] take width and height as multiples of 32 from 256 to 1440: a frame is generated at the
nearest such size of its aspect (1920x1080 → 1440x800) and fitted to the exact frame (scaled, centre-cropped).
Ultra takes an aspect ratio instead and answers about 4 megapixels, fitted the same way.
"""

from __future__ import annotations

import io
import math
import os
from typing import Any

import httpx
from PIL import Image

from pipeline.errors import (
    AuthenticationFailed,
    InvalidRequest,
    ProviderError,
    ProviderFailed,
    ProviderTimeout,
    QuotaExceeded,
    RateLimited,
    Rejected,
)
from pipeline.providers import remote
from pipeline.providers.base import ImageProvider, ImageRequest, StepContext, StepOutput, register
from pipeline.providers.sizing import SizeGrid, fit_to_frame

LABEL = "Black Forest Labs (Flux)"
DEFAULT_BASE_URL = "https://api.bfl.ai"
ULTRA = "flux-pro-1.1-ultra"
MODELS = ("flux-pro-1.1", "flux-dev", ULTRA)
SIZES = SizeGrid(step=32)  # [pro] and [dev]: multiples of 32 within 256..1440
ULTRA_ASPECTS = (9 / 21, 21 / 9)
DEV_STEPS, DEV_GUIDANCE = (1, 50), (1.5, 5.0)
SAFETY_TOLERANCE = 2  # BFL's default: 0 strictest .. 6 most permissive
TERMINAL = ("Ready", "Request Moderated", "Content Moderated", "Error", "Task not found")
SWITCH = "switch the image provider to draft"
CHECK_DASHBOARD = "BFL may have accepted (and billed) the task: check your usage at dashboard.bfl.ai"


def generation_size(width: int, height: int) -> tuple[int, int]:
    """The size FLUX 1.1 [pro]/[dev] is asked for (see pipeline.providers.sizing)."""
    return SIZES.generation_size(width, height)


def aspect_ratio(width: int, height: int) -> str:
    divisor = math.gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


def _reason(response: httpx.Response, key: str) -> str:
    """BFL's own words: `{"detail": "..."}` or FastAPI's `{"detail": [{"loc", "msg", "type"}]}`."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = response.text
    if isinstance(detail, list):
        detail = "; ".join(f"{'.'.join(str(p) for p in item.get('loc') or [] if p != 'body') or 'body'}: "
                           f"{item.get('msg', '')}" for item in detail if isinstance(item, dict))  # fmt: skip
    text = " ".join(str(detail or response.reason_phrase or f"HTTP {response.status_code}").split())
    return text.replace(key, "***")[:300]


def status_error(response: httpx.Response, key: str, creating: bool = False) -> ProviderError:
    code, reason = response.status_code, _reason(response, key)
    if code == 402:
        return QuotaExceeded(f"out of credits: {reason}", provider=LABEL, status=code,
                             advice=f"add credits at BFL (dashboard.bfl.ai) or {SWITCH}")  # fmt: skip
    if code in (401, 403):
        return AuthenticationFailed(f"the key was refused ({code}): {reason}", provider=LABEL, status=code,
                                    advice="check BFL_API_KEY on the server or paste your own BFL key in the "
                                    "studio's Keys panel")  # fmt: skip
    if code == 429:
        return RateLimited(f"too many tasks at once: {reason}", provider=LABEL, status=code,
                           retry_after=remote.retry_after(response.headers),
                           advice="BFL runs at most 24 tasks at once per key; wait and try again")  # fmt: skip
    if code in (400, 404, 413, 422):
        return InvalidRequest(f"request refused ({code}): {reason}", provider=LABEL, status=code,
                              advice="check the image prompt, the model and the frame size")  # fmt: skip
    if code == 408 or code >= 500:
        return ProviderFailed(f"server error {code}: {reason}", provider=LABEL, status=code, retryable=True,
                              retry_after=remote.retry_after(response.headers),
                              advice=CHECK_DASHBOARD if creating else "BFL is having trouble; try again later")
    return ProviderFailed(f"unexpected HTTP {code}: {reason}", provider=LABEL, status=code)


def transport_error(exc: BaseException, creating: bool) -> ProviderError | None:
    error = remote.http_error(exc, LABEL)
    if error is not None and creating and "refused" not in error.reason:
        error.advice = CHECK_DASHBOARD  # the submission may have arrived before the connection failed
    return error


@register
class BflImageProvider(ImageProvider):
    name = "bfl"
    label = LABEL
    version = "1"
    default_model = "flux-pro-1.1"
    models = MODELS
    needs_key = True
    key_env_var = "BFL_API_KEY"
    base_url_env_var = "BFL_API_URL"
    offline = False
    local_cpu = False
    paid = True
    max_concurrency = 4  # BFL allows 24 active tasks per key; a few at once is plenty for a storyboard
    key_concurrency = 24  # more active tasks on one key are refused (429), so renders on one key share them

    POLL_INTERVAL = remote.poll_interval(0.5)  # an image takes a few seconds
    TASK_TIMEOUT = 5 * 60.0
    REQUEST_TIMEOUT = 30.0
    CONNECT_TIMEOUT = 10.0

    def cache_fields(self, request: ImageRequest) -> dict[str, Any]:
        model = self.resolve_model(request.model)
        fields = {"model": model, "prompt": request.prompt, "width": request.width, "height": request.height,
                  "seed": request.seed, "safety_tolerance": SAFETY_TOLERANCE}  # fmt: skip
        if model == "flux-dev":  # only [dev] takes steps and guidance
            fields.update(steps=request.steps, guidance=request.guidance)
        return fields

    def check(self, request: ImageRequest) -> list[str]:
        problems = []
        model = self.resolve_model(request.model)
        if model not in MODELS:
            problems.append(f"BFL model '{model}' is not supported; use {', '.join(MODELS)}")
        if not request.prompt.strip():
            problems.append("the image prompt is empty; describe what the picture shows")
        if model != ULTRA or request.width <= 0 or request.height <= 0:
            problem = SIZES.problem(request.width, request.height, "BFL")
            return problems + [problem] if problem else problems
        if not ULTRA_ASPECTS[0] <= request.width / request.height <= ULTRA_ASPECTS[1]:
            problems.append(f"FLUX ultra makes aspect ratios between 9:21 and 21:9; the frame "
                            f"{request.width}x{request.height} is {aspect_ratio(request.width, request.height)}")
        return problems

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        self.refuse_if_unfit(request)
        key = ctx.key(self.key_env_var, LABEL)
        base_url = (os.environ.get(self.base_url_env_var) or DEFAULT_BASE_URL).rstrip("/")
        timeout = httpx.Timeout(self.REQUEST_TIMEOUT, connect=self.CONNECT_TIMEOUT)
        with httpx.Client(timeout=timeout, headers={"x-key": key, "accept": "application/json"}) as client:
            return _Job(self, client, base_url, request, ctx, key).run()


class _Job:
    """One image: submit (or re-attach), wait, download at once, fit to the frame."""

    def __init__(self, provider: BflImageProvider, client: httpx.Client, base_url: str, request: ImageRequest,
                 ctx: StepContext, key: str) -> None:  # fmt: skip
        self.p, self.client, self.base_url, self.key = provider, client, base_url, key
        self.request, self.ctx = request, ctx
        self.model = provider.resolve_model(request.model) or provider.default_model

    def run(self) -> StepOutput:
        pending = self.ctx.pending_task()
        reattached = pending is not None
        task = (pending["id"], pending.get("polling_url") or "") if pending else self.submit()
        while True:
            result = self.wait(*task)
            status = result.get("status")
            if status == "Ready":
                return self.deliver(task[0], result)
            self.ctx.task_ended(str(status))
            if status == "Task not found" and reattached:
                # A journalled task BFL no longer keeps (results expire): nothing to pick up, so submit anew.
                reattached, task = False, self.submit()
                continue
            raise self.failure(result)

    def submit(self) -> tuple[str, str]:
        request = self.request
        body: dict[str, Any] = {"prompt": request.prompt, "seed": request.seed, "output_format": "png",
                                "safety_tolerance": SAFETY_TOLERANCE, "prompt_upsampling": False}  # fmt: skip
        if self.model == ULTRA:
            body.update(aspect_ratio=aspect_ratio(request.width, request.height), raw=False)
        else:
            body["width"], body["height"] = generation_size(request.width, request.height)
        if self.model == "flux-dev":
            body["steps"] = min(DEV_STEPS[1], max(DEV_STEPS[0], request.steps))
            body["guidance"] = min(DEV_GUIDANCE[1], max(DEV_GUIDANCE[0], request.guidance))

        def attempt() -> dict[str, Any]:
            response = self.client.post(f"{self.base_url}/v1/{self.model}", json=body)
            if response.status_code >= 400:
                raise status_error(response, self.key, creating=True)
            return response.json()

        self.ctx.progress(0.02, "submitting to BFL")
        with self.ctx.submitting(self.p.name, LABEL):
            created = remote.call(attempt, provider=LABEL, ctx=self.ctx, retry=remote.only_refused,
                                  translate=lambda exc: transport_error(exc, creating=True))  # fmt: skip
        task_id = str(created.get("id") or "")
        if not task_id:
            raise ProviderFailed("BFL accepted the task without an id", provider=LABEL, advice=CHECK_DASHBOARD)
        polling_url = str(created.get("polling_url") or "")
        self.ctx.task_submitted(self.p.name, task_id, polling_url=polling_url)
        return task_id, polling_url

    def trusted(self, polling_url: str) -> str:
        """The URL to poll: BFL's own (a regional host under bfl.ai) or our base URL's host; the key goes there."""
        url, base = httpx.URL(polling_url), httpx.URL(self.base_url)
        host = url.host or ""
        if (url.scheme, host, url.port) == (base.scheme, base.host, base.port) or \
                (url.scheme == "https" and (host == "bfl.ai" or host.endswith(".bfl.ai"))):  # fmt: skip
            return polling_url
        raise ProviderFailed(f"BFL answered a polling URL on an unexpected host ({host})", provider=LABEL,
                             advice="check BFL_API_URL; the key is only sent to BFL")  # fmt: skip

    def wait(self, task_id: str, polling_url: str) -> dict[str, Any]:
        if polling_url:
            url, params = self.trusted(polling_url), None
        else:
            url, params = f"{self.base_url}/v1/get_result", {"id": task_id}
        last = {"status": None}

        def attempt() -> dict[str, Any]:
            response = self.client.get(url, params=params)
            if response.status_code == 404:
                return {"id": task_id, "status": "Task not found"}
            if response.status_code >= 400:
                raise status_error(response, self.key)
            return response.json()

        def fetch() -> dict[str, Any]:
            return remote.call(attempt, provider=LABEL, ctx=self.ctx,
                               translate=lambda exc: transport_error(exc, creating=False))  # fmt: skip

        def update(result: dict[str, Any]) -> None:
            changed, last["status"] = result.get("status") != last["status"], result.get("status")
            if changed and result.get("status") == "Pending":
                self.ctx.progress_note("generating at BFL")
            progress = result.get("progress")
            if isinstance(progress, (int, float)):  # BFL's field: a fraction or a percentage
                self.ctx.progress(0.05 + 0.8 * min(1.0, progress / 100 if progress > 1 else progress))

        try:
            return remote.poll(fetch, lambda r: r.get("status") in TERMINAL, ctx=self.ctx,
                               interval=self.p.POLL_INTERVAL, timeout=self.p.TASK_TIMEOUT, provider=LABEL,
                               on_update=update)  # fmt: skip
        except ProviderTimeout as error:
            error.advice = "the task is still at BFL: render again soon to pick it up without paying again"
            raise

    def failure(self, result: dict[str, Any]) -> ProviderError:
        status = result.get("status")
        details = result.get("details")
        said = f": {' '.join(str(details).split())[:300]}" if details else ""
        if status == "Request Moderated":
            return Rejected(f"moderation refused the image prompt{said}", refused="image prompt", provider=LABEL,
                            advice="reword the scene's image prompt")  # fmt: skip
        if status == "Content Moderated":
            return Rejected(f"moderation withheld the generated image{said}", refused="output image",
                            provider=LABEL, advice="change the image prompt or the seed and try again")  # fmt: skip
        if status == "Task not found":
            return ProviderFailed("BFL no longer knows the task", provider=LABEL,
                                  advice="render the scene again to submit it anew")  # fmt: skip
        return ProviderFailed(f"the task failed ({status}){said}", provider=LABEL,
                              advice=f"try again later or {SWITCH}")  # fmt: skip

    def deliver(self, task_id: str, result: dict[str, Any]) -> StepOutput:
        sample = (result.get("result") or {}).get("sample") if isinstance(result.get("result"), dict) else None
        if not sample:
            self.ctx.task_ended("Ready")
            raise ProviderFailed("the task is ready without an image", provider=LABEL, advice="try again")
        self.ctx.progress(0.88, "downloading the image")

        # A fresh client: the signed sample URL is on BFL's delivery host, which must never see the key.
        raw = remote.download(str(sample), self.ctx.workdir / "sample.bin", provider=LABEL, ctx=self.ctx,
                              expired_advice="BFL's result links last 10 minutes; render the scene again to make "
                              "a new image")  # fmt: skip
        try:
            with Image.open(io.BytesIO(raw.read_bytes())) as image:
                generated = image.size
                frame = fit_to_frame(image, self.request.width, self.request.height)
        except OSError as exc:
            raise ProviderFailed(f"the image BFL sent cannot be read ({type(exc).__name__})", provider=LABEL,
                                 advice="try again") from None  # fmt: skip
        finally:
            raw.unlink(missing_ok=True)
        out = self.ctx.workdir / "image.png"
        frame.save(out, "PNG")
        self.ctx.progress(1.0)
        return StepOutput(out, {"provider_task_id": task_id, "model": self.model, "generated_size": list(generated),
                                "seed": self.request.seed})  # fmt: skip
