"""The node image of a ``collect`` run: ``docker/graalvm-jit`` built with the docker SDK.

Its base and its GraalVM come from build arguments (``--base-image``, ``--graalvm-image``,
``--graalvm-home``), so a machine without registry access builds it from local images (CI:
``metadata-pipeline/base:bookworm`` and the stand-in ``metadata-pipeline/graalvm-standin:17``).
The tag is derived from those arguments, so images of different sources never replace each
other; the engine's layer cache makes a rebuild of an unchanged image take about a second.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from metadata_pipeline.containers import DEFAULT_GRAALVM_HOME, DEFAULT_GRAALVM_IMAGE, Engine

__all__ = ["NodeImage", "build_node_image", "NODE_IMAGE_DIR", "DEFAULT_BASE_IMAGE", "DEFAULT_DUCKTAPE_VERSION", "DEFAULT_GRAALVM_IMAGE",
           "DEFAULT_GRAALVM_HOME", "IMAGE_REPOSITORY"]

NODE_IMAGE_DIR = Path(__file__).resolve().parents[2] / "docker" / "graalvm-jit"
IMAGE_REPOSITORY = "metadata-pipeline/graalvm-jit"
# The default base of docker/graalvm-jit/Dockerfile (GraalVM comes from the containers layer's default).
DEFAULT_BASE_IMAGE = "debian:bookworm-slim"
# The driver's ducktape when the checkout pins none (docker/graalvm-jit's DUCKTAPE_VERSION default).
DEFAULT_DUCKTAPE_VERSION = "0.17.0"


@dataclass(frozen=True)
class NodeImage:
    base_image: str = DEFAULT_BASE_IMAGE
    graalvm_image: str = DEFAULT_GRAALVM_IMAGE
    graalvm_home: str = DEFAULT_GRAALVM_HOME
    context: Path = NODE_IMAGE_DIR
    ducktape_version: str = DEFAULT_DUCKTAPE_VERSION  # collect passes the checkout's pin (tests/setup.py)
    driver_requirements: tuple[str, ...] = ()  # the rest of tests/setup.py's install_requires
    node_image: str | None = None  # --node-image: build on this existing image (Dockerfile.on-image)

    @property
    def dockerfile(self) -> Path:
        return self.context / ("Dockerfile.on-image" if self.node_image else "Dockerfile")

    def build_args(self) -> dict[str, str]:
        args = {"GRAALVM_IMAGE": self.graalvm_image, "GRAALVM_HOME_IN_SOURCE": self.graalvm_home,
                "DUCKTAPE_VERSION": self.ducktape_version, "DRIVER_REQUIREMENTS": " ".join(self.driver_requirements)}
        return {**args, "NODE_IMAGE": self.node_image} if self.node_image else {"BASE_IMAGE": self.base_image, **args}

    @property
    def tag(self) -> str:
        # The build arguments and the recipe itself: an image from another version of
        # docker/graalvm-jit (say, one that baked an SSH key) never answers to this tag.
        digest = hashlib.sha256()
        for k, v in sorted(self.build_args().items()):
            digest.update(f"{k}={v}\n".encode())
        for path in sorted(p for p in self.context.rglob("*") if p.is_file()):
            digest.update(path.relative_to(self.context).as_posix().encode() + b"\0" + path.read_bytes())
        return f"{IMAGE_REPOSITORY}:{digest.hexdigest()[:12]}"

    def describe(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in self.build_args().items())
        return f"{self.tag} from {self.dockerfile} ({args}; the engine's cache makes rebuilds fast)"


def build_node_image(engine: Engine, image: NodeImage, say: Callable[[str], None] = lambda line: None,
                     output: Callable[[str], None] = lambda line: None) -> str:
    """Build (or find in the cache) the node image; return its tag."""
    base = image.node_image or image.base_image
    say(f"building node image {image.tag} (GraalVM from {image.graalvm_image}, on {base})")
    started = time.monotonic()
    engine.build_image(image.context, image.tag, dockerfile=image.dockerfile, build_args=image.build_args(),
                       labels={"metadata-pipeline.image": "graalvm-jit"}, progress=output)
    say(f"node image ready in {time.monotonic() - started:.1f} s")
    return image.tag
