"""What every command works with: the project's configuration, a reporter, the container runtime and images.

A :class:`Context` is made once per command (by the CLI, or by any other caller of the
library) and handed to the stage functions instead of the same four arguments. The runtime
and the builder images are made on first use only: a command that finds nothing to build
starts no container and needs no image.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from debwheels.config import Config
from debwheels.errors import ConfigError

if TYPE_CHECKING:
    from debwheels.debian.images import Images
    from debwheels.tools.container import ContainerRuntime


@dataclass
class Context:
    """One command's configuration, reporter, and (made when first asked for) runtime and images.

    Attributes:
        cfg: the project's configuration.
        say: the reporter: one line of progress or a message per call (the CLI writes it to
            standard error; the library never prints).
    """

    cfg: Config
    say: Callable[[str], None]
    _ready: tuple[ContainerRuntime, Images] | None = field(default=None, repr=False)
    _targets: dict[str, Context] = field(default_factory=dict, repr=False)

    @property
    def target(self) -> str:
        """The target (Debian suite) in focus: ``cfg.debian_suite``."""
        return self.cfg.debian_suite

    def for_target(self, suite: str) -> Context:
        """The context of target *suite* (its configuration, builder and endpoint images); made once per suite.

        Raises:
            ConfigError: *suite* is not one of the project's targets.
        """
        if suite not in self.cfg.targets:
            raise ConfigError(
                f"{suite} is not a target of this project ({', '.join(self.cfg.targets)}): "
                "add it to targets in [tool.debwheels]"
            )
        if suite == self.cfg.debian_suite:
            return self
        if suite not in self._targets:
            self._targets[suite] = Context(self.cfg.for_target(suite), self.say)
        return self._targets[suite]

    def each_target(self) -> list[Context]:
        """The context of every target, in the order of ``targets``."""
        return [self.for_target(suite) for suite in self.cfg.targets]

    def images(self, update_lock: bool = False, check: bool = False) -> tuple[ContainerRuntime, Images]:
        """The container runtime and the target's ready builder and endpoint images (built or checked on first use).

        Args:
            update_lock: accept a changed rootfs and rewrite builder-lock.json.
            check: make the rootfs anew and compare it with the lock.

        Returns:
            (runtime adapter, image tags); the same pair on every later call without options.

        Raises:
            ToolError: the runtime or mmdebstrap is missing or failed. BuildError: the rootfs drifted.
        """
        if self._ready is None or update_lock or check:
            from debwheels.debian.images import ensure_images
            from debwheels.tools.container import ContainerRuntime

            runtime = ContainerRuntime(self.cfg.container_runtime)
            self._ready = runtime, ensure_images(self.cfg, runtime, update_lock=update_lock, check=check, say=self.say)
        return self._ready

    def exclusive(self, command: str) -> AbstractContextManager[Path]:
        """Hold the project's run lock for *command* (one mutating debwheels run at a time, :mod:`debwheels.exclusive`).

        Raises:
            BusyError: another run holds it.
        """
        from debwheels.exclusive import exclusive_run

        return exclusive_run(self.cfg.state_dir, command)
