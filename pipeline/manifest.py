"""The manifest beside a rendered video: a pure function of the render's result (what made every scene, what it
cost, the storyboard), so the studio, the CLI and the API get the same record without reading it back from disk.

Paths never appear in it: the manifest travels to clients, and a server path (a store or session folder) tells
them where the server keeps things; hashes name the bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.result import RenderResult, SceneResult
from pipeline.store import Asset

# Asset details too large or too private for the manifest.
_UNLISTED_META = ("sentences", "sentence_texts", "alignment", "path")


def manifest_path(output: Path) -> Path:
    return output.with_name(output.stem + ".manifest.json")


def asset_ref(asset: Asset | None) -> dict[str, Any] | None:
    if asset is None:
        return None
    return {"sha256": asset.sha256, "key": asset.key, **{k: v for k, v in asset.meta.items() if k not in _UNLISTED_META}}


def scene_entry(result: RenderResult, scene: SceneResult) -> dict[str, Any]:
    assert result.plan is not None
    fps, costs = result.plan.profile.fps, result.costs
    return {
        "index": scene.index,
        "requested_duration": result.plan.scenes[scene.index].duration,
        "duration": round(scene.frames / fps, 3),
        "frames": scene.frames,
        "narration_seconds": scene.voice.meta.get("duration") if scene.voice else None,
        # Every step kind of the render (null where the scene has none), and what the paid ones cost.
        "steps": {kind: asset_ref(asset) for kind, asset in scene.outputs.items()},
        "cost": {kind: costs[(scene.index, kind)] for kind in scene.outputs if (scene.index, kind) in costs},
        "cost_usd": round(sum(c["usd"] for (i, _), c in costs.items() if i == scene.index), 6),
    }


def build_manifest(result: RenderResult) -> dict[str, Any]:
    """The manifest of a finished render (its result carries the plan, the final asset and the costs)."""
    plan, final = result.plan, result.final
    assert plan is not None and final is not None, "a finished render's result"
    sb, profile = plan.storyboard, plan.profile
    return {
        "reelsmith": __version__,
        "render_id": result.render_id,
        "created": result.created,
        "title": sb.title,
        "output": {
            "file": result.output.name,  # the name only: the folder is the server's business (issue 12)
            "sha256": final.sha256,
            "format": sb.output.format,
            "width": profile.width,
            "height": profile.height,
            "fps": profile.fps,
            "duration": round(result.duration, 3),
            "captions": [path.name for path in result.captions],  # names only, beside the video
        },
        "providers": plan.providers,
        "scenes": [scene_entry(result, s) for s in result.scenes],
        "stats": {"seconds": round(result.seconds, 3), "executed": result.executed, "cached": result.cached},
        "cost": {"spent_usd": round(result.spent, 6), "budget_usd": result.budget,
                 "saved_by_cache_usd": round(sum(c.get("saved", 0.0) for c in result.costs.values()), 6)},
        "storyboard": sb.model_dump(mode="json"),
    }


def write_manifest(result: RenderResult) -> Path:
    result.manifest.write_text(json.dumps(build_manifest(result), indent=2))
    return result.manifest
