"""The one container layer that ``collect`` and ``build`` share, over the docker SDK.

One module a concept: ``spec`` (values, labels, defaults), ``engine`` (the SDK), ``archive``
(safe extraction), ``errors``; this package re-exports them.

``Engine`` connects (``DOCKER_HOST`` or the default socket) and builds images; ``Network`` and
``Container`` are context managers whose ``__exit__`` always removes what ``__enter__``
created, so an exception or Ctrl-C inside the ``with`` leaves nothing behind. Everything created
carries the labels of ``run_labels(run_id)``, so ``cleanup_leftovers`` can remove what a
crashed run left. Copying out of a container goes through ``extract_archive``, which refuses
absolute paths, ``..``, device files and links that could lead outside the destination.

The docker SDK is imported only when an engine is first needed, so commands that never touch
Docker start fast.
"""

from __future__ import annotations

from metadata_pipeline.containers.archive import extract_archive
from metadata_pipeline.containers.engine import Container, Engine, Network, cleanup_leftovers
from metadata_pipeline.containers.errors import (ContainerError, ContainerFailed, DockerUnavailable, ImageBuildFailed,
                                                 ImageNotFound, PathNotFound, UnsafeArchive)
from metadata_pipeline.containers.spec import (DEFAULT_GRAALVM_HOME, DEFAULT_GRAALVM_IMAGE, FUSE_CAPS, FUSE_DEVICE,
                                               LABEL_OWNER, LABEL_RUN, NET_ADMIN, ContainerSpec, ExecResult, Leftovers,
                                               Mount, new_run_id, run_labels)

__all__ = [
    "DEFAULT_GRAALVM_IMAGE", "DEFAULT_GRAALVM_HOME",
    "LABEL_OWNER", "LABEL_RUN", "NET_ADMIN", "FUSE_CAPS", "FUSE_DEVICE",
    "ContainerError", "DockerUnavailable", "ImageBuildFailed", "ImageNotFound", "ContainerFailed",
    "PathNotFound", "UnsafeArchive",
    "Mount", "ContainerSpec", "ExecResult", "Leftovers",
    "Engine", "Network", "Container",
    "new_run_id", "run_labels", "cleanup_leftovers", "extract_archive",
]
