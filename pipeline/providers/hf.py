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
from typing import Any

from pipeline.errors import AuthenticationFailed, ProviderError, ProviderFailed
from pipeline.providers import remote
from pipeline.providers.base import ImageProvider, ImageRequest, Price, Prices, StepContext, StepOutput, register
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
        return str(getattr(response, "text", "") or ""), None
    if not isinstance(body, dict):
        return str(body), None
    said = body.get("error") or body.get("message") or body.get("detail") or ""
    if isinstance(said, list):
        said = "; ".join(str(item) for item in said)
    estimate = body.get("estimated_time")
    return str(said), float(estimate) if isinstance(estimate, (int, float)) else None


ERRORS = remote.ErrorMap(
    LABEL,
    key_env_var="HF_TOKEN",
    rules=(
        remote.Rule("not_allowed", AuthenticationFailed, "not allowed", (403,),
                    advice="give the token inference permission, and accept the model's licence on its Hugging "
                    "Face page if it is gated"),
        remote.Rule("loading", ProviderFailed, "the model is not ready", (503,), retryable=True,
                    advice="the model is loading or overloaded; try again in a minute"),
    ),
    advice={"bad_key": "check {key_env_var} on the server or paste your own token in the studio's Keys panel (it needs "
                       "the \"Make calls to Inference Providers\" permission)",
            "no_credit": f"add credits or subscribe to PRO at huggingface.co, or {SWITCH}",
            "bad_request": "check the model id (or HF_INFERENCE_URL), the prompt and the frame size",
            "server_error": f"try again later or {SWITCH}",
            "timeout": "the model may be busy or loading; try again in a minute",
            "unreachable": "check the network or HF_INFERENCE_URL"},
)  # fmt: skip


def translate(exc: BaseException, *, key: str, errors: remote.ErrorMap = ERRORS) -> ProviderError | None:
    """huggingface_hub exceptions as our errors, through an HF error map (this provider's, or the chat's in
    pipeline/idea_storyboard.py); httpx2 failures: the map itself."""
    from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

    if isinstance(exc, InferenceTimeoutError):
        return errors.named("timeout", name=type(exc).__name__)
    if isinstance(exc, HfHubHTTPError) and getattr(exc, "response", None) is not None:
        said, estimate = _server_words(exc.response)
        return errors.answer(exc.response.status_code, said or getattr(exc, "server_message", None) or "",
                             headers=exc.response.headers, wait=estimate, secret=key)  # fmt: skip
    if isinstance(exc, OSError) and type(exc).__name__ == "UnidentifiedImageError":
        return ProviderFailed("the answer was not an image", provider=errors.provider,
                              advice="check that the model (or HF_INFERENCE_URL) makes images")  # fmt: skip
    return None


@register
class HuggingFaceImageProvider(ImageProvider):
    name = "hf"
    label = LABEL
    display_name = "FLUX.1 on Hugging Face"
    key_name = "Hugging Face token"
    version = "1"
    default_model = SCHNELL
    models = MODELS
    needs_key = True
    key_env_var = ERRORS.key_env_var  # one name for the key: the error map's advice says it too
    base_url_env_var = "HF_INFERENCE_URL"  # a dedicated endpoint; unset, the client routes the model id
    offline = False
    paid = True
    # Inference providers bill compute time, not images: ~1-2 s of GPU per schnell image, any model here.
    prices = Prices("2026-11", {
        None: Price("image", 0.003, "estimate: HF inference is billed by compute time (~1-2 s of GPU per image)"),
    })  # fmt: skip
    max_concurrency = 2

    REQUEST_TIMEOUT = 120.0  # a cold model can take a while; schnell itself answers in seconds

    def cache_fields(self, request: ImageRequest) -> dict[str, Any]:
        model = self.resolve_model(request.model) or SCHNELL
        steps, guidance = inference_settings(model, request.steps, request.guidance)
        return {"model": model, "prompt": request.prompt, "width": request.width, "height": request.height,
                "seed": request.seed, "steps": steps, "guidance": guidance}  # fmt: skip

    def check_request(self, request: ImageRequest) -> list[str]:
        problems = []
        if not request.prompt.strip():
            problems.append("the image prompt is empty; describe what the picture shows")
        problem = SIZES.problem(request.width, request.height, "FLUX here")
        return problems + [problem] if problem else problems

    def client(self, key: str, model: str | None = None) -> Any:
        """An InferenceClient for `model` (the dedicated endpoint instead, when HF_INFERENCE_URL is set)."""
        from huggingface_hub import InferenceClient

        return InferenceClient(model=self.base_url() or model or SCHNELL, token=key, timeout=self.REQUEST_TIMEOUT)

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        self.refuse_if_unfit(request)
        token = ctx.key(self.key_env_var, LABEL)
        model = self.resolve_model(request.model) or SCHNELL
        with self.client(token, model) as client:
            return self._generate(client, model, request, ctx, token)

    def _generate(self, client: Any, model: str, request: ImageRequest, ctx: StepContext, token: str) -> StepOutput:
        width, height = generation_size(request.width, request.height)
        steps, guidance = inference_settings(model, request.steps, request.guidance)
        ctx.progress(0.05, "generating at Hugging Face")
        image = remote.call(
            lambda: client.text_to_image(request.prompt, width=width, height=height, num_inference_steps=steps,
                                         guidance_scale=guidance, seed=request.seed),
            errors=ERRORS, ctx=ctx, retry=remote.answered_without_output,
            translate=lambda exc: translate(exc, key=token))  # fmt: skip
        ctx.progress(0.9)
        generated = image.size
        frame = fit_to_frame(image, request.width, request.height)
        out = ctx.workdir / "image.png"
        frame.save(out, "PNG")
        ctx.progress(1.0)
        return StepOutput(out, {"model": model, "generated_size": list(generated), "steps": steps,
                                "seed": request.seed})  # fmt: skip
