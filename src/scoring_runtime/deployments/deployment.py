"""A deployment: the name requests address, and which of its models answers each one.

A deployment holds model *names*, not models: the registry resolves a name to the model loaded
under it when a request arrives, so a reload swaps a model under every deployment at once.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import Job, Scored, ServedModel
from scoring_runtime.deployments.config import DeploymentEntry
from scoring_runtime.deployments.routing import WeightedRoute
from scoring_runtime.deployments.shadow import Challenger, is_classifier

P = TypeVar("P")
T = TypeVar("T")


class Shape(enum.Enum):
    SINGLE = "single"
    AB = "ab"
    CHAMPION = "champion"


@dataclass(frozen=True)
class Deployment:
    name: str
    shape: Shape
    members: tuple[str, ...]
    """Its models, the answering one (or the first variant) first."""
    entry: DeploymentEntry | None = None
    """Its entry in the deployments file; None for a model served as a deployment of itself."""
    route: WeightedRoute | None = None
    challengers: tuple[Challenger, ...] = ()

    def answering(self, route_key: str | None) -> str:
        """The model that answers this request: the champion or the only model, or the drawn variant."""
        return self.route.pick(route_key) if self.route is not None else self.members[0]

    def start(self) -> None:
        for challenger in self.challengers:
            challenger.start()

    def close(self) -> None:
        for challenger in self.challengers:
            challenger.close()


@dataclass(frozen=True)
class Answer:
    """The model answering one request of a deployment, held for the request's whole life."""

    deployment: Deployment
    model: ServedModel

    async def score(self, job: Job[P, Scored, T]) -> T:
        """Score on the answering model; with challengers, offer them the same frame and the
        champion's predictions once the answer is ready (nothing is re-read or re-parsed)."""
        if not self.deployment.challengers:
            return await self.model.score(job)
        seen: dict[str, Any] = {}

        def decode() -> tuple[P, Frame]:
            prepared, frame = job.decode()
            seen["frame"] = frame
            return prepared, frame

        def encode(prepared: P, scored: Scored) -> T:
            seen["predictions"] = scored.predictions
            return job.encode(prepared, scored)

        answer = await self.model.score(dataclasses.replace(job, decode=decode, encode=encode))
        predictions: np.ndarray | None = seen.get("predictions")
        if predictions is not None:
            classifier = is_classifier(self.model)
            for challenger in self.deployment.challengers:
                challenger.offer(seen["frame"], predictions, classifier)
        return answer
