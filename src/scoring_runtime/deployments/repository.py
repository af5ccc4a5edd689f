"""How the server changes what it serves while it runs: repository loads and unloads, a re-read
deployments file (`SIGHUP`), artifacts watched on disk; off the event loop, and with several
workers, on every worker before a load or unload returns."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio
from watchfiles import awatch

from scoring_runtime.core.errors import ConfigError, InvalidInput, ModelLoadError
from scoring_runtime.deployments.config import Deployments
from scoring_runtime.deployments.peers import Command, Peers
from scoring_runtime.deployments.registry import ModelRegistry, fingerprint

log = logging.getLogger("scorer")
SETTLE_SECONDS = 0.5
"""A changed artifact is loaded once it has stopped changing for this long (a copy in progress)."""


class Repository:
    def __init__(self, registry: ModelRegistry, read: Callable[[], Deployments], peers: Peers | None = None) -> None:
        """`read`: the deployments as configured now (the file is read again on every call)."""
        self.registry = registry
        self._read = read
        self._peers = peers
        self._rewatch = anyio.Event()

    async def start(self) -> None:
        """Load everything, then keep unloaded what the other workers unloaded before this one started."""
        await anyio.to_thread.run_sync(self.registry.start, self._read())
        if self._peers is not None:
            for model, action in self._peers.history().items():
                if action == "unload" and model in self.registry.config.models:  # a load is what start did
                    self.registry.unload(model)
            self._peers.join()

    async def load(self, name: str) -> None:
        """(Re)load a model from its entry in the file as it is now; 400 with the reason if it fails."""
        try:
            config = await anyio.to_thread.run_sync(self._read)
        except ConfigError as exc:
            raise InvalidInput(f"The model '{name}' was not loaded: {exc}") from None
        await anyio.to_thread.run_sync(self.registry.load, name, config)
        if self._peers is not None:
            await self._peers.broadcast("load", name)

    async def unload(self, name: str) -> None:
        self.registry.unload(name)
        if self._peers is not None:
            await self._peers.broadcast("unload", name)

    async def reread(self) -> None:
        """`SIGHUP`: serve the file as it is now; a file or a model that fails leaves everything as it was."""
        log.info("re-reading the deployments")
        try:
            config = await anyio.to_thread.run_sync(self._read)
            await anyio.to_thread.run_sync(self.registry.reconfigure, config)
        except (ConfigError, ModelLoadError) as exc:
            log.error("the deployments were not changed: %s", exc)
            return
        self._rewatch.set()

    async def follow(self) -> None:
        """Apply the other workers' loads and unloads (several workers only)."""
        if self._peers is not None:
            await self._peers.follow(self._apply)

    async def watch(self) -> None:
        """Reload a model whose artifact changed on disk, once it has settled."""
        while True:
            artifacts = {entry.path.resolve(): name for name, entry in self._read_quietly().models.items()}
            folders = {path if path.is_dir() else path.parent for path in artifacts}
            self._rewatch = anyio.Event()
            async for changes in awatch(*folders, stop_event=self._rewatch, debounce=200):
                touched = {_owner(Path(changed), artifacts) for _, changed in changes} - {None}
                for name in sorted(touched):
                    await self._settled(artifacts, name)
                    try:
                        await anyio.to_thread.run_sync(self.registry.load, name, self._read_quietly())
                        log.info("reloaded model %s: its artifact changed", name)
                    except InvalidInput as exc:
                        log.error("%s", exc.detail)

    def close(self) -> None:
        if self._peers is not None:
            self._peers.leave()
        self.registry.close()

    async def _apply(self, command: Command) -> None:
        if command.action == "unload":
            self.registry.unload(command.model)
        else:
            config = await anyio.to_thread.run_sync(self._read)
            await anyio.to_thread.run_sync(self.registry.load, command.model, config)

    async def _settled(self, artifacts: dict[Path, str], name: str) -> None:
        path = next(p for p, n in artifacts.items() if n == name)
        before = fingerprint(path)
        while True:
            await anyio.sleep(SETTLE_SECONDS)
            now = fingerprint(path)
            if now == before:
                return
            before = now

    def _read_quietly(self) -> Deployments:
        """The file as it is now, or as the registry last served it when it does not read."""
        try:
            return self._read()
        except ConfigError as exc:
            log.error("the deployments file does not read (%s); watching what is served", exc)
            return self.registry.config


def _owner(changed: Path, artifacts: dict[Path, str]) -> str | None:
    """The model whose artifact a changed path is, or is inside."""
    for path, name in artifacts.items():
        if changed == path or path in changed.parents:
            return name
    return None
