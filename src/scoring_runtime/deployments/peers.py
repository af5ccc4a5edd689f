"""Workers of one server telling each other about repository loads and unloads, through a folder.

A load or unload request reaches one worker. That worker applies it, writes a numbered command
file, and waits until every other live worker has applied it and said so in its acknowledgement
file. A worker that starts later (a crashed one's replacement) loads the file like any other and
then replays the last command per model, so an unloaded model stays unloaded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from watchfiles import awatch

from scoring_runtime.core.errors import InvalidInput, Overloaded

log = logging.getLogger("scorer")
PEER_TIMEOUT_SECONDS = 300.0
"""How long a load waits for the other workers to load the same model."""


@dataclass(frozen=True)
class Command:
    seq: int
    action: str
    """`load` or `unload`."""
    model: str
    origin: int


Apply = Callable[[Command], Awaitable[None]]


class Peers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pid = os.getpid()
        self._commands = folder / "commands"
        self._workers = folder / "workers"
        self._acks = folder / "acks"
        for path in (self._commands, self._workers, self._acks):
            path.mkdir(parents=True, exist_ok=True)
        self._applied = 0
        self._errors: dict[str, str] = {}

    def history(self) -> dict[str, str]:
        """The last action per model so far, for a worker that joins late."""
        last: dict[str, str] = {}
        for command in self._read_commands():
            last[command.model] = command.action
        return last

    def join(self) -> None:
        """Announce this worker once it serves; commands before now are already in its state."""
        self._applied = max((c.seq for c in self._read_commands()), default=0)
        self._acknowledge()
        (self._workers / str(self.pid)).write_text("")

    def leave(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self._workers / str(self.pid)).unlink()

    async def broadcast(self, action: str, model: str) -> None:
        """Tell the other workers, and return once each live one has applied it."""
        command = self._write(action, model)
        self._applied = command.seq
        self._acknowledge()
        deadline = time.monotonic() + PEER_TIMEOUT_SECONDS
        while waiting := self._behind(command.seq):
            if time.monotonic() > deadline:
                raise Overloaded(f"Workers {', '.join(map(str, waiting))} did not {action} '{model}' in time.")
            await anyio.sleep(0.05)
        failures = self._failures(command.seq)
        if failures:
            raise InvalidInput(f"This worker did {action} '{model}', but another did not: {failures[0]}")

    async def follow(self, apply: Apply) -> None:
        """Apply the other workers' commands as they appear, for as long as the server runs."""
        async for _ in awatch(self._commands, debounce=20, step=10, rust_timeout=1000, yield_on_timeout=True):
            for command in self._read_commands():
                if command.seq <= self._applied:
                    continue
                if command.origin != self.pid:
                    try:
                        await apply(command)
                    except Exception as exc:
                        self._errors[str(command.seq)] = getattr(exc, "detail", str(exc))
                self._applied = command.seq
                self._acknowledge()

    def _write(self, action: str, model: str) -> Command:
        """Written beside, then linked in under its number: a reader sees all of it or nothing,
        and two workers cannot take the same number."""
        temporary = self._commands / f".{self.pid}.tmp"
        while True:
            seq = max((c.seq for c in self._read_commands()), default=0) + 1
            temporary.write_text(json.dumps({"seq": seq, "action": action, "model": model, "origin": self.pid}))
            try:
                os.link(temporary, self._commands / f"{seq:09d}.json")
            except FileExistsError:
                continue
            finally:
                temporary.unlink()
            return Command(seq, action, model, self.pid)

    def _read_commands(self) -> list[Command]:
        commands = []
        for path in sorted(self._commands.glob("*.json")):
            document = _read_json(path)
            if document is not None:
                commands.append(Command(document["seq"], document["action"], document["model"], document["origin"]))
        return commands

    def _acknowledge(self) -> None:
        temporary = self._acks / f".{self.pid}.tmp"
        temporary.write_text(json.dumps({"seq": self._applied, "errors": self._errors}))
        temporary.replace(self._acks / str(self.pid))

    def _behind(self, seq: int) -> list[int]:
        behind = []
        for path in self._workers.iterdir():
            pid = int(path.name)
            if pid == self.pid or not _alive(pid):
                continue
            ack = _read_json(self._acks / path.name) or {"seq": 0}
            if ack["seq"] < seq:
                behind.append(pid)
        return behind

    def _failures(self, seq: int) -> list[str]:
        found = []
        for path in self._acks.glob("[0-9]*"):
            ack = _read_json(path)
            if ack is not None and str(seq) in ack.get("errors", {}):
                found.append(f"worker {path.name}: {ack['errors'][str(seq)]}")
        return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path) -> Any:
    """A file another worker is writing may be momentarily empty: that reads as not there yet."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
