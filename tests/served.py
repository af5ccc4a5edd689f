"""A real model served as the server serves it, driven without HTTP, for the unit tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.scorer import Scorer
from scoring_runtime.protocols.h2o import codec
from scoring_runtime.protocols.h2o.wire import ContributionRequest, ScoreRequest
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.settings import ModelSettings


def serve(artifact: Path | Scorer, **settings: Any) -> ServedModel:
    scorer = artifact if isinstance(artifact, Scorer) else load_scorer(artifact)
    return ServedModel(scorer, ModelSettings(_env_file=None, **settings))


async def score_async(model: ServedModel, request: ScoreRequest) -> dict:
    return await model.score(codec.score_job(model, request))


def score(model: ServedModel, request: ScoreRequest) -> dict:
    """A `/model/score` request's answer body, as the route computes it."""
    return asyncio.run(score_async(model, request))


def contribution(model: ServedModel, request: ContributionRequest) -> dict:
    """A `/model/contribution` request's answer body, as the route computes it."""

    async def run() -> dict:
        job, kind = codec.contribution_job(model, request)
        return await model.explain(job, kind)

    return asyncio.run(run())
