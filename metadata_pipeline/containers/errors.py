"""What goes wrong in the container layer, each a one-line ``FatalError``."""

from __future__ import annotations

from pathlib import Path

from metadata_pipeline.errors import FatalError


# --- errors -----------------------------------------------------------------------------------

class ContainerError(FatalError):
    """Something about the engine, an image or a container went wrong (exit code 2)."""


class DockerUnavailable(ContainerError):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"no Docker engine answers at {where}: {reason} "
                         "(start one, or point DOCKER_HOST at one)")


class ImageBuildFailed(ContainerError):
    def __init__(self, tag: str, context: Path, reason: str) -> None:
        super().__init__(f"building image {tag} from {context} failed: {reason}")


class ImageNotFound(ContainerError):
    def __init__(self, image: str) -> None:
        super().__init__(f"image {image} is not on this engine; build or pull it first")


class ContainerFailed(ContainerError):
    """A container could not be created or started, or a readiness check timed out."""


class PathNotFound(ContainerError):
    def __init__(self, container: str, path: str) -> None:
        super().__init__(f"{container}:{path} does not exist")


class UnsafeArchive(ContainerError):
    """An archive member that would write outside the destination; nothing of it is written."""

    def __init__(self, source: str, member: str, problem: str) -> None:
        self.member = member
        super().__init__(f"refusing archive from {source}: member {member!r} {problem}")
