"""The docker SDK behind ``Engine`` (connect, build, probe), ``Network`` and ``Container``
(context managers that always remove what they created), and ``cleanup_leftovers``.

The docker SDK is imported only when an engine is first needed, so commands that never touch
Docker start fast."""

from __future__ import annotations

import codecs
import io
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Any

from metadata_pipeline.containers.archive import extract_archive
from metadata_pipeline.containers.errors import (ContainerError, ContainerFailed, DockerUnavailable, ImageBuildFailed,
                                                 ImageNotFound, PathNotFound)
from metadata_pipeline.containers.spec import LABEL_RUN, ContainerSpec, ExecResult, Leftovers, Progress, run_labels

if TYPE_CHECKING:  # pragma: no cover
    import docker
    import docker.models.containers
    import docker.models.networks


def _docker() -> Any:
    import docker  # deferred: heavy, and only commands that run containers need it

    return docker


class Engine:
    """A connected Docker engine."""

    def __init__(self, client: "docker.DockerClient") -> None:
        self.client = client

    @classmethod
    def connect(cls, timeout: float = 120) -> "Engine":
        docker = _docker()
        where = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
        try:
            client = docker.from_env(timeout=timeout)
            client.ping()
        except Exception as exc:  # the SDK raises DockerException, requests' errors or OSError
            raise DockerUnavailable(where, _one_line(exc)) from exc
        return cls(client)

    def server_version(self) -> str:
        return str(self.client.version().get("Version", "unknown"))

    def image_exists(self, image: str) -> bool:
        docker = _docker()
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            return False
        return True

    def build_image(self, context: Path, tag: str, *, dockerfile: Path | None = None,
                    build_args: Mapping[str, str] | None = None,
                    labels: Mapping[str, str] | None = None,
                    progress: Progress | None = None, pull: bool = False) -> str:
        """Build ``tag`` from ``context`` (the engine's layer cache applies); return the image id.

        Every line the builder prints goes to ``progress``. ``dockerfile`` may lie outside the
        context. ``pull`` refreshes base images from their registry.
        """
        docker = _docker()
        context = context.resolve()
        if not context.is_dir():
            raise ImageBuildFailed(tag, context, "the build context is not a directory")
        dockerfile_arg: str | None = None
        if dockerfile is not None:
            dockerfile = dockerfile.resolve()
            if not dockerfile.is_file():
                raise ImageBuildFailed(tag, context, f"no Dockerfile at {dockerfile}")
            dockerfile_arg = (str(dockerfile.relative_to(context))
                              if dockerfile.is_relative_to(context) else str(dockerfile))
        image_id = ""
        tail: list[str] = []
        try:
            for chunk in self.client.api.build(
                    path=str(context), tag=tag, dockerfile=dockerfile_arg,
                    buildargs=dict(build_args or {}), labels=dict(labels or {}),
                    rm=True, forcerm=True, pull=pull, decode=True):
                if "error" in chunk:
                    raise ImageBuildFailed(tag, context, _build_error(chunk, tail))
                image_id = chunk.get("aux", {}).get("ID", image_id)
                for line in str(chunk.get("stream", "")).splitlines():
                    if line.strip():
                        tail = (tail + [line.rstrip()])[-5:]
                        if progress:
                            progress(line.rstrip())
        except docker.errors.DockerException as exc:
            raise ImageBuildFailed(tag, context, _one_line(exc)) from exc
        if not image_id:
            image_id = self.client.images.get(tag).id
        return image_id


    def probe(self, image: str, script: str, run_id: str, timeout: float = 120) -> str:
        """Run ``sh -c script`` in a throwaway container of ``image`` (no capabilities added); its stdout."""
        docker = _docker()
        try:
            container = self.client.containers.create(image, ["sh", "-c", script], entrypoint=[], user="root",
                                                      labels=run_labels(run_id), network_disabled=True)
        except docker.errors.ImageNotFound as exc:
            raise ImageNotFound(image) from exc
        except docker.errors.APIError as exc:
            raise ContainerFailed(f"cannot probe image {image}: {_one_line(exc)}") from exc
        try:
            container.start()
            container.wait(timeout=timeout)
            return container.logs(stdout=True, stderr=False).decode("utf-8", errors="replace")
        except Exception as exc:  # the SDK's errors, or requests' timeout
            raise ContainerFailed(f"cannot probe image {image}: {_one_line(exc)}") from exc
        finally:
            _remove_quietly(lambda: container.remove(force=True, v=True), masking=True, what=f"probe of {image}")


def _build_error(chunk: Mapping[str, Any], tail: Sequence[str]) -> str:
    message = str(chunk.get("error", "")).strip().replace("\n", " ")
    step = next((line for line in reversed(tail) if line.startswith("Step ")), "")
    return f"{message} (at {step})" if step else message


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# --- network ----------------------------------------------------------------------------------

class Network:
    """A user-defined bridge network; containers on it reach each other by name."""

    def __init__(self, engine: Engine, name: str, run_id: str) -> None:
        self.engine, self.name, self.run_id = engine, name, run_id
        self.network: "docker.models.networks.Network | None" = None

    def __enter__(self) -> "Network":
        docker = _docker()
        try:
            self.network = self.engine.client.networks.create(
                self.name, driver="bridge", labels=run_labels(self.run_id), check_duplicate=True)
        except docker.errors.APIError as exc:
            raise ContainerFailed(f"cannot create network {self.name}: {_one_line(exc)}") from exc
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.network is not None:
            _remove_quietly(self.network.remove, masking=exc is not None,
                            what=f"network {self.name}")
            self.network = None


# --- container --------------------------------------------------------------------------------

_SAFE_GLOB = re.compile(r"[A-Za-z0-9_./*?\[\]+=,:@%-]+")


class Container:
    """A running container; started by ``__enter__``, removed (with its volumes) by ``__exit__``."""

    def __init__(self, engine: Engine, spec: ContainerSpec, run_id: str) -> None:
        self.engine, self.spec, self.run_id = engine, spec, run_id
        self.container: "docker.models.containers.Container | None" = None

    @property
    def name(self) -> str:
        return self.spec.name

    def __enter__(self) -> "Container":
        docker = _docker()
        spec, client = self.spec, self.engine.client
        kwargs: dict[str, Any] = {}
        if spec.network:
            kwargs["network"] = spec.network
            if spec.aliases:
                kwargs["networking_config"] = {
                    spec.network: client.api.create_endpoint_config(aliases=list(spec.aliases))}
        if spec.memory:
            kwargs["mem_limit"] = spec.memory
        if spec.cap_add:
            kwargs["cap_add"] = list(spec.cap_add)
        if spec.devices:
            kwargs["devices"] = [f"{d}:{d}:rwm" for d in spec.devices]
        try:
            self.container = client.containers.create(
                spec.image, command=list(spec.command) if spec.command is not None else None,
                name=spec.name, hostname=spec.hostname or spec.name, detach=True,
                labels={**spec.labels, **run_labels(self.run_id)},
                environment=dict(spec.env), working_dir=spec.working_dir,
                mounts=[docker.types.Mount(m.target, str(m.source.resolve()), type="bind",
                                           read_only=m.read_only) for m in spec.mounts],
                **kwargs)
        except docker.errors.ImageNotFound as exc:
            raise ImageNotFound(spec.image) from exc
        except docker.errors.APIError as exc:
            raise ContainerFailed(f"cannot create container {spec.name}: {_one_line(exc)}") from exc
        try:
            self.container.start()
        except BaseException as exc:  # Ctrl-C included: never leave a created container behind
            self.__exit__(type(exc), exc, exc.__traceback__)
            if isinstance(exc, docker.errors.APIError):
                raise ContainerFailed(f"cannot start container {spec.name}: {_one_line(exc)}") from exc
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.container is not None:
            container, self.container = self.container, None
            _remove_quietly(lambda: container.remove(force=True, v=True), masking=exc is not None,
                            what=f"container {self.spec.name}")

    def _running(self) -> "docker.models.containers.Container":
        if self.container is None:
            raise ContainerFailed(f"container {self.spec.name} is not running (use it in a with block)")
        return self.container

    def exec(self, cmd: Sequence[str] | str, *, env: Mapping[str, str] | None = None,
             workdir: str | None = None, user: str | None = None,
             stream: Progress | None = None, max_output: int = 1_000_000) -> ExecResult:
        """Run ``cmd`` in the container; return its exit code and (the tail of) its output.

        ``stream`` receives the output line by line as it is produced; ``max_output``
        characters of it are kept in the result.
        """
        api = self.engine.client.api
        container = self._running()
        exec_id = api.exec_create(container.id, cmd if isinstance(cmd, str) else list(cmd),
                                  environment=dict(env or {}), workdir=workdir, user=user or "",
                                  stdout=True, stderr=True)["Id"]
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        kept: list[str] = []
        kept_size = 0
        pending = ""
        for chunk in api.exec_start(exec_id, stream=True):
            text = decoder.decode(chunk)
            kept.append(text)
            kept_size += len(text)
            if kept_size > 2 * max_output:  # trim now and then, not on every chunk
                joined = "".join(kept)[-max_output:]
                kept, kept_size = [joined], len(joined)
            if stream:
                pending += text
                *lines, pending = pending.split("\n")
                for line in lines:
                    stream(line)
        tail = decoder.decode(b"", final=True)
        kept.append(tail)
        if stream and (pending + tail):
            stream(pending + tail)
        exit_code = api.exec_inspect(exec_id).get("ExitCode")
        return ExecResult(exit_code if exit_code is not None else -1, "".join(kept)[-max_output:])

    def check(self, cmd: Sequence[str] | str, **kwargs: Any) -> str:
        """``exec`` that raises ``ContainerFailed`` (with the output's tail) on a non-zero exit."""
        result = self.exec(cmd, **kwargs)
        if not result.ok:
            shown = cmd if isinstance(cmd, str) else " ".join(cmd)
            last = " | ".join(result.output.strip().splitlines()[-3:])
            raise ContainerFailed(f"{self.spec.name}: '{shown}' exited {result.exit_code}: {last}")
        return result.output

    def wait_until(self, cmd: Sequence[str] | str, *, timeout: float = 30,
                   interval: float = 0.2) -> None:
        """Poll ``cmd`` until it exits 0 (e.g. sshd answering); ``ContainerFailed`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.exec(cmd)
            if result.ok:
                return
            container = self._running()
            container.reload()
            if container.status != "running":
                raise ContainerFailed(f"container {self.spec.name} stopped ({container.status}): "
                                      f"{_tail(container.logs().decode(errors='replace'))}")
            if time.monotonic() > deadline:
                raise ContainerFailed(f"{self.spec.name}: not ready after {timeout:g}s: "
                                      f"{_tail(result.output)}")
            time.sleep(interval)

    def logs(self) -> str:
        return self._running().logs().decode("utf-8", errors="replace")

    def copy_into(self, source: Path, dest_dir: str) -> None:
        """Copy a host file or directory to ``dest_dir/<name>`` (``dest_dir`` is created)."""
        if not source.exists():
            raise ContainerError(f"cannot copy {source} into {self.spec.name}: it does not exist")
        self.check(["mkdir", "-p", dest_dir])
        with tempfile.SpooledTemporaryFile(max_size=32 << 20) as buffer:
            with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.add(str(source), arcname=source.name)
            buffer.seek(0)
            if not self._running().put_archive(dest_dir, buffer.read()):
                raise ContainerError(f"copying {source} to {self.spec.name}:{dest_dir} failed")

    def put_files(self, dest_dir: str, files: Mapping[str, tuple[bytes, int]], *, uid: int = 0,
                  gid: int = 0) -> None:
        """Write files (name -> (content, mode)) into ``dest_dir``, owned by ``uid:gid``.

        From memory, so secrets (a run's SSH key) never touch this machine's disk.
        """
        self.check(["mkdir", "-p", dest_dir])
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, (content, mode) in files.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.uid, info.gid, info.mtime = len(content), mode, uid, gid, time.time()
                tar.addfile(info, io.BytesIO(content))
        if not self._running().put_archive(dest_dir, buffer.getvalue()):
            raise ContainerError(f"writing files into {self.spec.name}:{dest_dir} failed")

    def copy_out(self, source: str, dest_dir: Path) -> Path:
        """Copy ``source`` (file or directory) out to ``dest_dir/<name>``; return that path.

        The archive is checked member by member (see ``extract_archive``).
        """
        docker = _docker()
        origin = f"{self.spec.name}:{source}"
        try:
            chunks, _stat = self._running().get_archive(source)
            with tempfile.SpooledTemporaryFile(max_size=32 << 20) as buffer:
                for chunk in chunks:
                    buffer.write(chunk)
                buffer.seek(0)
                names = extract_archive(buffer, dest_dir, origin)
        except docker.errors.NotFound as exc:
            raise PathNotFound(self.spec.name, source) from exc
        top = PurePosixPath(source.rstrip("/") or "/").name
        return dest_dir / (names[0].split("/")[0] if names else top)

    def list(self, directory: str) -> list[str]:
        """Names in ``directory`` (hidden ones included), sorted."""
        return sorted(self.check(["ls", "-1A", "--", directory]).splitlines())

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell glob in the container, sorted; [] when nothing matches."""
        if not _SAFE_GLOB.fullmatch(pattern):
            raise ValueError(f"glob pattern {pattern!r} has characters other than "
                             "letters, digits and _ . / * ? [ ] + = , : @ % -")
        script = f'for p in {pattern}; do if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi; done'
        return sorted(line for line in self.check(["sh", "-c", script]).splitlines() if line)


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-3:])


def _remove_quietly(remove: Callable[[], Any], *, masking: bool, what: str) -> None:
    """Remove on the way out; never hide the exception that is already on its way."""
    docker = _docker()
    try:
        remove()
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if not masking:
            raise ContainerError(f"cannot remove {what}: {_one_line(exc)}") from exc


def cleanup_leftovers(engine: Engine, run_id: str | None = None) -> Leftovers:
    """Remove containers, then networks, labelled by this tool (of ``run_id``, or of any run)."""
    label = f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN
    docker = _docker()
    containers = engine.client.containers.list(all=True, filters={"label": label})
    for container in containers:
        _remove_quietly(lambda c=container: c.remove(force=True, v=True), masking=False,
                        what=f"container {container.name}")
    networks = engine.client.networks.list(filters={"label": label})
    for network in networks:
        try:
            network.remove()
        except docker.errors.NotFound:
            pass
    return Leftovers(tuple(sorted(c.name for c in containers)),
                     tuple(sorted(n.name for n in networks)))
