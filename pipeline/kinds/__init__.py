"""Step kinds by name. Importing this package registers every kind: the built-ins first, in the board's order,
then every other module in this folder, so a new kind is one new file here (its planner, key, executor and one
`kinds.register(StepKind(...))`) and nothing else. The machinery and where a kind sits: pipeline/kinds/base.py."""

import importlib
import pkgutil

from pipeline.kinds.base import (  # noqa: F401
    Planning,
    Step,
    StepGraph,
    StepKind,
    StepKinds,
    key_for,
    kinds,
    plan_steps,
    step_id,
)

# The built-ins, in this order: the registry's order is the planning order and the board's columns.
from pipeline.kinds import generation, scene_media, assembly  # noqa: E402,F401,I001 - order matters, see above

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
