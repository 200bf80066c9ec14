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
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from pipeline.errors import ProviderError, ProviderFailed, Rejected
from pipeline.providers import remote
from pipeline.providers.base import ImageProvider, ImageRequest, Price, Prices, StepContext, StepOutput, register
from pipeline.providers.sizing import SizeGrid, fit_to_frame

LABEL = "Black Forest Labs (Flux)"
DEFAULT_BASE_URL = "https://api.bfl.ai"
ULTRA = "flux-pro-1.1-ultra"
MODELS = ("flux-pro-1.1", "flux-dev", ULTRA)
SIZES = SizeGrid(step=32)  # [pro] and [dev]: multiples of 32 within 256..1440
ULTRA_ASPECTS = (9 / 21, 21 / 9)
DEV_STEPS, DEV_GUIDANCE = (1, 50), (1.5, 5.0)
SAFETY_TOLERANCE = 2  # BFL's default: 0 strictest .. 6 most permissive
SWITCH = "switch the image provider to draft"
CHECK_DASHBOARD = "BFL may have accepted (and billed) the task: check your usage at dashboard.bfl.ai"


def generation_size(width: int, height: int) -> tuple[int, int]:
    """The size FLUX 1.1 [pro]/[dev] is asked for (see pipeline.providers.sizing)."""
    return SIZES.generation_size(width, height)


def aspect_ratio(width: int, height: int) -> str:
    divisor = math.gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


def _reason(response: httpx.Response) -> str:
    """BFL's own words: `{"detail": "..."}` or FastAPI's `{"detail": [{"loc", "msg", "type"}]}`."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = response.text
    if isinstance(detail, list):
        detail = "; ".join(f"{'.'.join(str(p) for p in item.get('loc') or [] if p != 'body') or 'body'}: "
                           f"{item.get('msg', '')}" for item in detail if isinstance(item, dict))  # fmt: skip
    return str(detail or response.reason_phrase or "")


ERRORS = remote.ErrorMap(
    LABEL,
    key_env_var="BFL_API_KEY",
    advice={"no_credit": f"add credits at BFL (dashboard.bfl.ai) or {SWITCH}",
            "rate_limited": "BFL runs at most 24 tasks at once per key; wait and try again",
            "bad_request": "check the image prompt, the model and the frame size",
            "server_error": "BFL is having trouble; try again later"},
)  # fmt: skip


@register
class BflImageProvider(ImageProvider):
    name = "bfl"
    label = LABEL
    display_name = "Flux (Black Forest Labs)"
    key_name = "Black Forest Labs API key"
    version = "1"
    default_model = "flux-pro-1.1"
    models = MODELS
    needs_key = True
    key_env_var = ERRORS.key_env_var  # one name for the key: the error map's advice says it too
    base_url_env_var = "BFL_API_URL"
    default_base_url = DEFAULT_BASE_URL
    offline = False
    paid = True
    prices = Prices("2026-11", {
        "flux-pro-1.1": Price("image", 0.04, "BFL pricing: FLUX1.1 [pro] $0.04 per image"),
        ULTRA: Price("image", 0.06, "BFL pricing: FLUX1.1 [pro] Ultra $0.06 per image"),
        "flux-dev": Price("image", 0.025, "BFL pricing: FLUX.1 [dev] $0.025 per image"),
    })  # fmt: skip
    max_concurrency = 4  # BFL allows 24 active tasks per key; a few at once is plenty for a storyboard
    key_concurrency = 24  # more active tasks on one key are refused (429), so renders on one key share them

    POLL_INTERVAL = 0.5  # an image takes a few seconds (the engine's settings may set another: StepContext)
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

    def check_request(self, request: ImageRequest) -> list[str]:
        problems = []
        if not request.prompt.strip():
            problems.append("the image prompt is empty; describe what the picture shows")
        if self.resolve_model(request.model) != ULTRA or request.width <= 0 or request.height <= 0:
            problem = SIZES.problem(request.width, request.height, "BFL")
            return problems + [problem] if problem else problems
        if not ULTRA_ASPECTS[0] <= request.width / request.height <= ULTRA_ASPECTS[1]:
            problems.append(f"FLUX ultra makes aspect ratios between 9:21 and 21:9; the frame "
                            f"{request.width}x{request.height} is {aspect_ratio(request.width, request.height)}")
        return problems

    def client(self, key: str) -> httpx.Client:
        timeout = httpx.Timeout(self.REQUEST_TIMEOUT, connect=self.CONNECT_TIMEOUT)
        return httpx.Client(timeout=timeout, headers={"x-key": key, "accept": "application/json"})

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        self.refuse_if_unfit(request)
        key = ctx.key(self.key_env_var, LABEL)
        base_url = (self.base_url() or DEFAULT_BASE_URL).rstrip("/")
        with self.client(key) as client:
            return BflTask(self, client, base_url, request, ctx, key).run()


class BflTask(remote.RemoteTask):
    """One image as a remote task: BFL's wire (httpx) in the protocol's hooks; the image is fitted to the frame."""

    name, label, short, output, download_as = "bfl", LABEL, "BFL", "image", "sample.bin"
    errors, check_dashboard = ERRORS, CHECK_DASHBOARD
    expired_advice = "BFL's result links last 10 minutes; render the scene again to make a new image"

    def __init__(self, provider: BflImageProvider, client: httpx.Client, base_url: str, request: ImageRequest,
                 ctx: StepContext, key: str) -> None:  # fmt: skip
        super().__init__(ctx, interval=provider.POLL_INTERVAL, timeout=provider.TASK_TIMEOUT)
        self.client, self.base_url, self.key, self.request = client, base_url, key, request
        self.model = provider.resolve_model(request.model) or provider.default_model

    def answered(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise ERRORS.answer(response.status_code, _reason(response), headers=response.headers, secret=self.key)
        return response.json()

    def create(self) -> dict[str, Any]:
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
        return self.answered(self.client.post(f"{self.base_url}/v1/{self.model}", json=body))

    def accepted(self, created: dict[str, Any]) -> remote.TaskRef:
        return remote.TaskRef(str(created.get("id") or ""), {"polling_url": str(created.get("polling_url") or "")})

    def trusted(self, polling_url: str) -> str:
        """The URL to poll: BFL's own (a regional host under bfl.ai) or our base URL's host; the key goes there."""
        url, base = httpx.URL(polling_url), httpx.URL(self.base_url)
        host = url.host or ""
        if (url.scheme, host, url.port) == (base.scheme, base.host, base.port) or \
                (url.scheme == "https" and (host == "bfl.ai" or host.endswith(".bfl.ai"))):  # fmt: skip
            return polling_url
        raise ProviderFailed(f"BFL answered a polling URL on an unexpected host ({host})", provider=LABEL,
                             advice="check BFL_API_URL; the key is only sent to BFL")  # fmt: skip

    def fetch(self, task: remote.TaskRef) -> dict[str, Any]:
        polling_url = task.extra.get("polling_url")
        if polling_url:
            return self.answered(self.client.get(self.trusted(polling_url)))
        return self.answered(self.client.get(f"{self.base_url}/v1/get_result", params={"id": task.id}))

    def read(self, answer: dict[str, Any]) -> remote.TaskState:
        status = str(answer.get("status"))
        if status == "Ready":
            result = answer.get("result")
            sample = result.get("sample") if isinstance(result, dict) else None
            return remote.TaskState(status, "succeeded", url=str(sample) if sample else None, answer=answer)
        if status == "Task not found":
            return remote.TaskState(status, "missing", answer=answer)
        if status in ("Request Moderated", "Content Moderated", "Error"):
            return remote.TaskState(status, "failed", answer=answer)
        progress = answer.get("progress")  # BFL's field: a fraction or a percentage
        fraction = min(1.0, progress / 100 if progress > 1 else progress) if isinstance(progress, (int, float)) \
            else None  # fmt: skip
        return remote.TaskState(status, "waiting", progress=fraction, answer=answer,
                                note="generating at BFL" if status == "Pending" else None)  # fmt: skip

    def failure(self, state: remote.TaskState) -> tuple[ProviderError, bool]:
        if state.phase != "failed":
            return super().failure(state)
        details = state.answer.get("details")
        said = f": {' '.join(str(details).split())[:300]}" if details else ""
        if state.status == "Request Moderated":
            return Rejected(f"moderation refused the image prompt{said}", refused="image prompt", provider=LABEL,
                            advice="reword the scene's image prompt"), False  # fmt: skip
        if state.status == "Content Moderated":
            return Rejected(f"moderation withheld the generated image{said}", refused="output image",
                            provider=LABEL, advice="change the image prompt or the seed and try again"), False
        return ProviderFailed(f"the task failed ({state.status}){said}", provider=LABEL,
                              advice=f"try again later or {SWITCH}"), False  # fmt: skip

    def finish(self, path: Path, state: remote.TaskState, task: remote.TaskRef) -> StepOutput:
        # remote.download uses a fresh client: the signed sample URL is on BFL's delivery host, never given the key.
        try:
            with Image.open(io.BytesIO(path.read_bytes())) as image:
                generated = image.size
                frame = fit_to_frame(image, self.request.width, self.request.height)
        except OSError as exc:
            raise ProviderFailed(f"the image BFL sent cannot be read ({type(exc).__name__})", provider=LABEL,
                                 advice="try again") from None  # fmt: skip
        finally:
            path.unlink(missing_ok=True)
        out = self.ctx.workdir / "image.png"
        frame.save(out, "PNG")
        return StepOutput(out, {"provider_task_id": task.id, "model": self.model, "generated_size": list(generated),
                                "seed": self.request.seed})  # fmt: skip
