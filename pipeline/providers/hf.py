"""Paid image provider `hf`: FLUX through Hugging Face inference (`huggingface_hub.InferenceClient.text_to_image`).

The client routes a model id to the inference provider the token's owner prefers; HF_INFERENCE_URL names a
dedicated endpoint instead (an Inference Endpoint, a self-hosted server), which the client calls directly with
`{"inputs": prompt, "parameters": {...}}` and reads raw image bytes back.

FLUX wants sides in multiples of 16: a frame is generated at the nearest such size of its aspect, at most 1440 px
a side, and fitted to the exact frame (scaled, centre-cropped). The client itself never retries; `remote.call`
retries what an answer proves produced nothing (429 with its Retry-After, 503 while the model loads, other 5xx, a
refused connection). Inference is billed by compute time, so a request that timed out is reported, not repeated.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pipeline.errors import (
    AuthenticationFailed,
    InvalidRequest,
    ProviderError,
    ProviderFailed,
    ProviderTimeout,
    QuotaExceeded,
    RateLimited,
)
from pipeline.providers import remote
from pipeline.providers.base import ImageProvider, ImageRequest, StepContext, StepOutput, register
from pipeline.providers.sizing import SizeGrid, fit_to_frame

LABEL = "Hugging Face (FLUX.1-schnell)"
SCHNELL = "black-forest-labs/FLUX.1-schnell"
MODELS = (SCHNELL, "black-forest-labs/FLUX.1-dev")
SIZES = SizeGrid(step=16)
SCHNELL_STEPS = 4  # the timestep-distilled model is made for 1-4 steps; more only cost time
MAX_STEPS = 50
SWITCH = "switch the image provider to draft"


def generation_size(width: int, height: int) -> tuple[int, int]:
    """The size FLUX is asked for here (see pipeline.providers.sizing)."""
    return SIZES.generation_size(width, height)


def inference_settings(model: str, steps: int, guidance: float) -> tuple[int, float]:
    """(num_inference_steps, guidance_scale) for the model: schnell is distilled without guidance."""
    if model == SCHNELL:
        return max(1, min(SCHNELL_STEPS, steps)), 0.0
    return max(1, min(MAX_STEPS, steps)), guidance


def _server_words(response: Any) -> tuple[str, float | None]:
    """The server's reason (`{"error": ...}` on HF inference) and `estimated_time` while a model loads."""
    try:
        body = json.loads(response.text)
    except (ValueError, TypeError):
        return " ".join(str(getattr(response, "text", "") or "").split())[:300], None
    if not isinstance(body, dict):
        return " ".join(str(body).split())[:300], None
    said = body.get("error") or body.get("message") or body.get("detail") or ""
    if isinstance(said, list):
        said = "; ".join(str(item) for item in said)
    estimate = body.get("estimated_time")
    return " ".join(str(said).split())[:300], float(estimate) if isinstance(estimate, (int, float)) else None


def translate(exc: BaseException, *, key: str) -> ProviderError | None:
    """huggingface_hub / httpx2 exceptions as our errors, in the server's words."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

    if isinstance(exc, InferenceTimeoutError):
        return ProviderTimeout("no answer in time", provider=LABEL,
                               advice="the model may be busy or loading; try again in a minute")  # fmt: skip
    if isinstance(exc, HfHubHTTPError) and getattr(exc, "response", None) is not None:
        response = exc.response
        code = response.status_code
        said, estimate = _server_words(response)
        reason = (said or getattr(exc, "server_message", None) or f"HTTP {code}").replace(key, "***")
        wait = remote.retry_after(response.headers)
        if code == 401:
            return AuthenticationFailed(f"the token was refused: {reason}", provider=LABEL, status=code,
                                        advice="check HF_TOKEN on the server or paste your own token in the "
                                        "studio's Keys panel (it needs the \"Make calls to Inference Providers\" "
                                        "permission)")  # fmt: skip
        if code == 402:
            return QuotaExceeded(f"out of inference credits: {reason}", provider=LABEL, status=code,
                                 advice=f"add credits or subscribe to PRO at huggingface.co, or {SWITCH}")
        if code == 403:
            return AuthenticationFailed(f"not allowed: {reason}", provider=LABEL, status=code,
                                        advice="give the token inference permission, and accept the model's "
                                        "licence on its Hugging Face page if it is gated")  # fmt: skip
        if code == 429:
            return RateLimited(f"too many requests: {reason}", provider=LABEL, status=code, retry_after=wait,
                               advice="wait a minute and try again; fewer scenes at once also helps")  # fmt: skip
        if code == 503:
            return ProviderFailed(f"the model is not ready: {reason}", provider=LABEL, status=code, retryable=True,
                                  retry_after=wait if wait is not None else estimate,
                                  advice="the model is loading or overloaded; try again in a minute")  # fmt: skip
        if code >= 500:
            return ProviderFailed(f"server error {code}: {reason}", provider=LABEL, status=code, retryable=True,
                                  retry_after=wait, advice=f"try again later or {SWITCH}")  # fmt: skip
        return InvalidRequest(f"request refused ({code}): {reason}", provider=LABEL, status=code,
                              advice="check the model id (or HF_INFERENCE_URL), the prompt and the frame size")
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderTimeout(f"no answer in time ({type(exc).__name__})", provider=LABEL,
                               advice="try again in a minute")  # fmt: skip
    if isinstance(exc, httpx2.ConnectError):
        return ProviderFailed("connection refused or unreachable", provider=LABEL, retryable=True,
                              advice="check the network or HF_INFERENCE_URL")  # fmt: skip
    if isinstance(exc, httpx2.TransportError):
        return ProviderFailed(f"connection lost ({type(exc).__name__})", provider=LABEL, retryable=True)
    if isinstance(exc, OSError) and type(exc).__name__ == "UnidentifiedImageError":
        return ProviderFailed("the answer was not an image", provider=LABEL,
                              advice="check that the model (or HF_INFERENCE_URL) makes images")  # fmt: skip
    return None


@register
class HuggingFaceImageProvider(ImageProvider):
    name = "hf"
    label = LABEL
    version = "1"
    default_model = SCHNELL
    models = MODELS
    needs_key = True
    key_env_var = "HF_TOKEN"
    base_url_env_var = "HF_INFERENCE_URL"
    offline = False
    local_cpu = False
    paid = True
    max_concurrency = 2

    REQUEST_TIMEOUT = 120.0  # a cold model can take a while; schnell itself answers in seconds

    def cache_fields(self, request: ImageRequest) -> dict[str, Any]:
        model = self.resolve_model(request.model) or SCHNELL
        steps, guidance = inference_settings(model, request.steps, request.guidance)
        return {"model": model, "prompt": request.prompt, "width": request.width, "height": request.height,
                "seed": request.seed, "steps": steps, "guidance": guidance}  # fmt: skip

    def check(self, request: ImageRequest) -> list[str]:
        problems = []
        model = self.resolve_model(request.model)
        if model not in MODELS:
            problems.append(f"Hugging Face model '{model}' is not supported here; use {', '.join(MODELS)}")
        if not request.prompt.strip():
            problems.append("the image prompt is empty; describe what the picture shows")
        problem = SIZES.problem(request.width, request.height, "FLUX here")
        return problems + [problem] if problem else problems

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        from huggingface_hub import InferenceClient

        self.refuse_if_unfit(request)
        token = ctx.key(self.key_env_var, LABEL)
        model = self.resolve_model(request.model) or SCHNELL
        client = InferenceClient(model=os.environ.get(self.base_url_env_var) or model, token=token,
                                 timeout=self.REQUEST_TIMEOUT)  # fmt: skip
        width, height = generation_size(request.width, request.height)
        steps, guidance = inference_settings(model, request.steps, request.guidance)
        ctx.progress(0.05, "generating at Hugging Face")
        image = remote.call(
            lambda: client.text_to_image(request.prompt, width=width, height=height, num_inference_steps=steps,
                                         guidance_scale=guidance, seed=request.seed),
            provider=LABEL, ctx=ctx, retry=remote.answered_without_output,
            translate=lambda exc: translate(exc, key=token))  # fmt: skip
        ctx.progress(0.9)
        generated = image.size
        frame = fit_to_frame(image, request.width, request.height)
        out = ctx.workdir / "image.png"
        frame.save(out, "PNG")
        ctx.progress(1.0)
        return StepOutput(out, {"model": model, "generated_size": list(generated), "steps": steps,
                                "seed": request.seed})  # fmt: skip
