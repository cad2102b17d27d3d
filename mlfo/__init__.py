"""The ML Function Orchestrator (ITU-T Y.3172): intents, pipelines, placement and tracking.

This package is the pure pipeline layer: it imports no database, broker or web code. The worker
application that runs it for the platform (Celery tasks, leases, the reaper, recording results)
is `mlfo.worker`, which depends on it. The public names below load their module on first use, so
`import mlfo.intent` stays cheap for code (the API) that needs only the schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlfo.errors import IntentError, NodeFailure, Outcome
    from mlfo.evaluation import EvaluationInput, EvaluationResult
    from mlfo.intent import Intent
    from mlfo.pipeline import Node, Pipeline, build_pipeline
    from mlfo.placement import device_for, queue_for
    from mlfo.registry import NodeKind
    from mlfo.sinks import SinkContext, register_sink
    from mlfo.validation import default_intent, intent_for_bundle, validate_intent

_EXPORTS: dict[str, str] = {
    "IntentError": "mlfo.errors",
    "NodeFailure": "mlfo.errors",
    "Outcome": "mlfo.errors",
    "EvaluationInput": "mlfo.evaluation",
    "EvaluationResult": "mlfo.evaluation",
    "Intent": "mlfo.intent",
    "Node": "mlfo.pipeline",
    "Pipeline": "mlfo.pipeline",
    "build_pipeline": "mlfo.pipeline",
    "device_for": "mlfo.placement",
    "queue_for": "mlfo.placement",
    "NodeKind": "mlfo.registry",
    "SinkContext": "mlfo.sinks",
    "register_sink": "mlfo.sinks",
    "default_intent": "mlfo.validation",
    "intent_for_bundle": "mlfo.validation",
    "validate_intent": "mlfo.validation",
}

__all__ = [
    "EvaluationInput",
    "EvaluationResult",
    "Intent",
    "IntentError",
    "Node",
    "NodeFailure",
    "NodeKind",
    "Outcome",
    "Pipeline",
    "SinkContext",
    "build_pipeline",
    "default_intent",
    "device_for",
    "intent_for_bundle",
    "queue_for",
    "register_sink",
    "validate_intent",
]


def __getattr__(name: str) -> Any:
    """Load a public name's module on first access."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlfo' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
