"""The models and deployments a server serves, and the one place they are loaded, swapped and closed.

A model name maps to a slot holding the model loaded under it. A request holds that model for its
whole life; a reload loads and self-checks the new model beside the old one, swaps the slot, and
the old model is closed once the last request holding it is done, so no request fails or sees a mix.
Loads that change several models (a re-read file) are all-or-nothing.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring_runtime.core.errors import ConfigError, InvalidInput, ModelLoadError, NotFound, NotReady
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.types import Capability
from scoring_runtime.deployments.config import DEFAULT_DEPLOYMENT, Deployments, ModelEntry
from scoring_runtime.deployments.deployment import Answer, Deployment, Shape
from scoring_runtime.deployments.routing import WeightedRoute
from scoring_runtime.deployments.shadow import Challenger, InProcess, ShadowObserver, ShadowScorer
from scoring_runtime.deployments.shadow_process import ShadowProcess
from scoring_runtime.settings import Settings

log = logging.getLogger("scorer")
Loader = Callable[[str, ModelEntry], ServedModel]


class ModelState(enum.StrEnum):
    READY = "READY"
    LOADING = "LOADING"
    UNAVAILABLE = "UNAVAILABLE"


class _Held:
    """One loaded model and the requests holding it; retired, it closes when the last one lets go."""

    def __init__(self, model: ServedModel, checked: bool, fingerprint: tuple[int, int], generation: int) -> None:
        self.model = model
        self.generation = generation
        """Which load this is: a challenger's own process reloads when it changes."""
        self.checked = checked
        self.fingerprint = fingerprint
        """The artifact's (mtime, size) when it was loaded: a re-read file reloads a replaced artifact."""
        self._holders = 0
        self._retired = False
        self._lock = threading.Lock()

    def acquire(self) -> ServedModel:
        with self._lock:
            self._holders += 1
        return self.model

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            close = self._retired and self._holders == 0
        if close:
            self._close()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            close = self._holders == 0
        if close:
            self._close()

    def _close(self) -> None:
        try:
            self.model.close()
        except Exception:
            log.exception("closing the replaced model %s failed", self.model.name)


@dataclass
class _Slot:
    entry: ModelEntry
    held: _Held | None = None
    state: ModelState = ModelState.LOADING
    reason: str = ""


class ModelRegistry:
    def __init__(
        self,
        loader: Loader,
        observer: ShadowObserver,
        challenger_queue: int = 64,
        isolate: Settings | None = None,
    ) -> None:
        """`loader` loads one entry of the deployments file; `observer` counts challenger outcomes;
        with `isolate` (the server's settings) each challenger scores in a process of its own."""
        self._load = loader
        self._isolate = isolate
        self._generations = itertools.count(1)
        self._observer = observer
        self._challenger_queue = challenger_queue
        self._slots: dict[str, _Slot] = {}
        self._deployments: dict[str, Deployment] = {}
        self._declared: tuple[str, ...] = ()
        self._config: Deployments | None = None
        self._change = threading.Lock()
        """Held by whatever changes which models are loaded: changes happen one at a time."""

    # -- what requests ask -------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """What `/readyz` reports: every model is loaded and every deployment ready; with no
        deployments declared, every model has scored its sample."""
        if not self._slots or not all(self._loaded(name) for name in self._slots):
            return False
        if self._declared:
            return all(self.ready_for(self._deployments[name]) for name in self._declared)
        return all(self._slot_ready(name) for name in self._slots)

    @property
    def config(self) -> Deployments:
        """The deployments as they are served now."""
        return self._active_config()

    @property
    def several(self) -> bool:
        return len(self._slots) > 1 or bool(self._declared)

    def deployment(self, name: str | None) -> Deployment:
        """A deployment (or a model, as a deployment of itself) by name; None = the root's."""
        if name is None:
            return self._root()
        found = self._deployments.get(name)
        if found is None:
            what = "deployment or model" if self._declared else "model"
            raise NotFound(f"There is no {what} '{name}'; this server serves {self._listing()}.")
        return found

    def ready_for(self, deployment: Deployment) -> bool:
        """Its answering models are loaded and scored their sample; its challengers are loaded (a
        challenger that cannot score is counted in its report, and never keeps the champion from
        serving)."""
        answering = deployment.members if deployment.shape is Shape.AB else deployment.members[:1]
        return all(self._slot_ready(n) for n in answering) and all(self._loaded(n) for n in deployment.members)

    def primary(self, deployment: Deployment) -> ServedModel:
        """The model a deployment's metadata describes: the champion, the only model or the first variant."""
        return self._current(deployment.members[0]).model

    def capabilities(self, deployment: Deployment) -> frozenset[Capability]:
        """What every model answering for the deployment offers (challengers never answer)."""
        answering = deployment.members if deployment.shape is Shape.AB else deployment.members[:1]
        offered = [self._current(name).model.capabilities for name in answering]
        return frozenset.intersection(*offered)

    @contextmanager
    def answer(self, deployment: Deployment, route_key: str | None = None) -> Iterator[Answer]:
        with self.hold(deployment.answering(route_key)) as model:
            yield Answer(deployment, model)

    @contextmanager
    def hold(self, name: str) -> Iterator[ServedModel]:
        held = self._current(name)
        model = held.acquire()
        try:
            yield model
        finally:
            held.release()

    def challengers(self, deployment: Deployment) -> list[dict[str, Any]]:
        return [challenger.report() for challenger in deployment.challengers]

    # -- the model repository ------------------------------------------------------------------
    def index(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "version": slot.entry.version, "state": slot.state.value, "reason": slot.reason}
            for name, slot in self._slots.items()
        ]

    def start(self, config: Deployments) -> None:
        """Load every model of `config` and serve its deployments (at start-up, before any request)."""
        with self._change:
            loaded = self._load_all(config, config.models)
            self._commit(config, loaded)

    def load(self, name: str, config: Deployments) -> None:
        """(Re)load one model from its entry in `config` (the file re-read), beside the old one."""
        if name not in config.models:
            raise NotFound(f"There is no model '{name}' in the deployments file; it has {', '.join(config.models)}.")
        with self._change:
            merged = Deployments(
                {**self._active_config().models, name: config.models[name]},
                self._active_config().deployments,
                config.source,
            )
            try:
                loaded = self._load_all(merged, {name: config.models[name]})
            except (ModelLoadError, ConfigError) as exc:
                raise InvalidInput(
                    f"The model '{name}' was not loaded, and what served before still serves: {exc}"
                ) from None
            self._commit(merged, loaded)

    def unload(self, name: str) -> None:
        """Make a model unavailable: its deployments answer 503 until it is loaded again."""
        with self._change:
            slot = self._slots.get(name)
            if slot is None:
                raise NotFound(f"There is no model '{name}'; this server has {', '.join(self._slots)}.")
            held, slot.held = slot.held, None
            slot.state, slot.reason = ModelState.UNAVAILABLE, "unloaded"
            if held is not None:
                held.retire()
            log.info("unloaded model %s", name)

    def reconfigure(self, config: Deployments) -> None:
        """Serve a re-read file: added and changed models are loaded first, all or nothing; then
        the deployments and models are swapped at once and removed models closed."""
        with self._change:
            active = self._active_config()
            changed = {
                name: entry
                for name, entry in config.models.items()
                if entry != active.models.get(name) or self._stale(name)
            }
            loaded = self._load_all(config, changed)
            self._commit(config, loaded)

    def close(self) -> None:
        """Stop serving: readiness turns off, challengers stop, every model is closed."""
        with self._change:
            for deployment in self._deployments.values():
                deployment.close()
            slots, self._slots = self._slots, {}
            self._deployments = {}
            for slot in slots.values():
                if slot.held is not None:
                    slot.held.retire()

    # -- inside -----------------------------------------------------------------------------
    def _load_all(self, config: Deployments, entries: dict[str, ModelEntry]) -> dict[str, _Held]:
        """Load and self-check each entry; a failure closes what was loaded and raises its sentence."""
        loaded: dict[str, _Held] = {}
        starting = not self._slots
        try:
            for name, entry in entries.items():
                slot = self._slots.get(name)
                if slot is not None and slot.held is None:
                    slot.state = ModelState.LOADING
                stamp = fingerprint(entry.path)
                model = self._load(name, entry)
                loaded[name] = _Held(model, model.self_check(), stamp, next(self._generations))
                if not loaded[name].checked and not starting:
                    raise ModelLoadError(f"the new model '{name}' failed its self-check on its own sample request.")
            _check_inputs(
                config,
                {
                    **{n: s.held.model for n, s in self._slots.items() if s.held},
                    **{n: h.model for n, h in loaded.items()},
                },
            )
        except BaseException:
            for name, held in loaded.items():
                held.retire()
                slot = self._slots.get(name)
                if slot is not None and slot.held is None:
                    slot.state = ModelState.UNAVAILABLE
            raise
        return loaded

    def _commit(self, config: Deployments, loaded: dict[str, _Held]) -> None:
        retired: list[_Held] = []
        slots: dict[str, _Slot] = {}
        for name, entry in config.models.items():
            slot = self._slots.get(name) or _Slot(entry)
            slot.entry = entry
            if name in loaded:
                if slot.held is not None:
                    retired.append(slot.held)
                slot.held, slot.state, slot.reason = loaded[name], ModelState.READY, ""
                log.info(
                    "serving model %s (%s) as model id %s", name, slot.held.model.info.runtime, slot.held.model.model_id
                )
            slots[name] = slot
        retired += [slot.held for name, slot in self._slots.items() if name not in slots and slot.held is not None]
        old_deployments = self._deployments
        deployments = self._build(config, old_deployments)
        self._slots, self._deployments = slots, deployments
        self._declared, self._config = tuple(config.deployments), config
        for name, old in old_deployments.items():
            if deployments.get(name) is not old:
                old.close()
        for name, deployment in deployments.items():
            if old_deployments.get(name) is not deployment:
                deployment.start()
        for held in retired:
            held.retire()

    def _build(self, config: Deployments, old: dict[str, Deployment]) -> dict[str, Deployment]:
        """Every declared deployment, plus each model as a deployment of itself; an unchanged
        champion/challenger deployment is kept, so its challengers' figures carry on."""
        built = {name: Deployment(name, Shape.SINGLE, (name,)) for name in config.models}
        for name, entry in config.deployments.items():
            members = config.members(name)
            previous = old.get(name)
            if previous is not None and previous.entry == entry:
                built[name] = previous
                continue
            if entry.ab is not None:
                built[name] = Deployment(name, Shape.AB, members, entry, WeightedRoute(entry.ab))
            elif entry.champion is not None:
                challengers = tuple(
                    Challenger(name, model, self._shadow_scorer(model), self._observer, self._challenger_queue)
                    for model in entry.challengers
                )
                built[name] = Deployment(name, Shape.CHAMPION, members, entry, challengers=challengers)
            else:
                built[name] = Deployment(name, Shape.SINGLE, members, entry)
        return built

    def _shadow_scorer(self, name: str) -> ShadowScorer:
        if self._isolate is None:
            return InProcess(self.hold, name)

        def current() -> tuple[int, ModelEntry]:
            held = self._current(name)  # an unloaded challenger fails its requests, counted
            return held.generation, self._slots[name].entry

        return ShadowProcess(self._isolate, name, current)

    def _root(self) -> Deployment:
        if DEFAULT_DEPLOYMENT in self._deployments:
            return self._deployments[DEFAULT_DEPLOYMENT]
        candidates = self._declared or tuple(self._slots)
        if len(candidates) == 1:
            return self._deployments[candidates[0]]
        if not self._deployments:
            raise NotReady("The model is not loaded yet.")
        raise NotFound(f"This server serves several deployments; address one as /<deployment>/...: {self._listing()}.")

    def _listing(self) -> str:
        return ", ".join(self._declared or tuple(self._slots)) or "nothing yet"

    def _current(self, name: str) -> _Held:
        slot = self._slots.get(name)
        if slot is None or slot.held is None:
            state = "loading" if slot is None or slot.state is ModelState.LOADING else "unloaded"
            raise NotReady(f"The model '{name}' is {state}; try again once it is loaded.")
        return slot.held

    def _stale(self, name: str) -> bool:
        """Not loaded, or its artifact changed on disk since it was."""
        slot = self._slots.get(name)
        return slot is None or slot.held is None or slot.held.fingerprint != fingerprint(slot.entry.path)

    def _loaded(self, name: str) -> bool:
        slot = self._slots.get(name)
        return slot is not None and slot.held is not None

    def _slot_ready(self, name: str) -> bool:
        slot = self._slots.get(name)
        return slot is not None and slot.held is not None and slot.held.checked

    def _active_config(self) -> Deployments:
        if self._config is None:
            raise NotReady("The server has not loaded its models yet.")
        return self._config


def fingerprint(path: Path) -> tuple[int, int]:
    """The newest modification time and the total size of an artifact file or folder."""
    try:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        stats = [p.stat() for p in files]
    except OSError:
        return (0, 0)
    return (max((s.st_mtime_ns for s in stats), default=0), sum(s.st_size for s in stats))


def _check_inputs(config: Deployments, models: dict[str, ServedModel]) -> None:
    """Variants and challengers score the same rows: they must read the same input fields."""
    for name in config.deployments:
        members = [m for m in config.members(name) if m in models]
        if len(members) < 2:
            continue
        first = models[members[0]]
        expected = {f.name: f.data_type for f in first.schema.inputs}
        for other in members[1:]:
            found = {f.name: f.data_type for f in models[other].schema.inputs}
            if found != expected:
                differing = sorted(set(expected.items()) ^ set(found.items()))
                fields = ", ".join(dict.fromkeys(field for field, _ in differing))
                raise ConfigError(
                    f"deployment '{name}': the models '{members[0]}' and '{other}' read different input fields ({fields})."
                )
