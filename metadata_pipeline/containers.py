"""The one container layer that ``collect`` and ``build`` share, over the docker SDK.

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

import codecs
import io
import os
import posixpath
import re
import math
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from metadata_pipeline.errors import FatalError

if TYPE_CHECKING:  # pragma: no cover
    import docker
    import docker.models.containers
    import docker.models.networks

__all__ = [
    "DEFAULT_GRAALVM_IMAGE", "DEFAULT_GRAALVM_HOME",
    "LABEL_OWNER", "LABEL_RUN", "NET_ADMIN", "FUSE_CAPS", "FUSE_DEVICE",
    "ContainerError", "DockerUnavailable", "ImageBuildFailed", "ImageNotFound", "ContainerFailed",
    "PathNotFound", "UnsafeArchive",
    "Mount", "ContainerSpec", "ExecResult", "Leftovers",
    "Engine", "Network", "Container",
    "new_run_id", "run_labels", "cleanup_leftovers", "extract_archive",
]

# GraalVM Community for JDK 21 with Native Image (the package that ships the tracing agent), and
# where that image installs it: what collect's node image and build's native-image start from.
DEFAULT_GRAALVM_IMAGE = "ghcr.io/graalvm/native-image-community:21"
DEFAULT_GRAALVM_HOME = "/usr/lib64/graalvm/graalvm-community-java21"

LABEL_OWNER = "metadata-pipeline"
LABEL_RUN = "metadata-pipeline.run"

# Least privilege: a container gets the engine's default capabilities and nothing more unless
# its spec asks (collect's nodes: NET_ADMIN for network faults, FUSE only with kibosh).
# native-image over a user's jars needs nothing extra.
NET_ADMIN = "NET_ADMIN"
FUSE_CAPS = ("SYS_ADMIN",)
FUSE_DEVICE = "/dev/fuse"

Progress = Callable[[str], None]


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


# --- values -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mount:
    """A bind mount of a host path into a container."""

    source: Path
    target: str
    read_only: bool = False

    def describe(self) -> str:
        return f"{self.source} -> {self.target} ({'ro' if self.read_only else 'rw'})"


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a container is started with; ``describe()`` is what ``--dry-run`` prints."""

    image: str
    name: str
    hostname: str | None = None
    network: str | None = None
    aliases: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    working_dir: str | None = None
    memory: str | None = None  # docker notation: "2g", "512m"
    labels: Mapping[str, str] = field(default_factory=dict)
    cap_add: tuple[str, ...] = ()  # beyond the engine's defaults; never ALL
    devices: tuple[str, ...] = ()  # host device paths passed through as is (rwm)

    def __post_init__(self) -> None:
        if any(cap.upper() in ("ALL", "CAP_ALL") for cap in self.cap_add):
            raise ValueError(f"{self.name}: cap_add=ALL is refused; name the capabilities a container needs")

    def describe(self) -> dict[str, Any]:
        return {
            "image": self.image, "name": self.name, "hostname": self.hostname or self.name,
            "network": self.network, "aliases": list(self.aliases),
            "mounts": [m.describe() for m in self.mounts], "env": dict(self.env),
            "command": list(self.command) if self.command is not None else None,
            "working_dir": self.working_dir, "memory": self.memory,
            "cap_add": list(self.cap_add), "devices": list(self.devices), "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str  # stdout and stderr interleaved as the process wrote them (tail, if capped)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class Leftovers:
    containers: tuple[str, ...]
    networks: tuple[str, ...]


def new_run_id() -> str:
    """Unique per run and readable in ``docker ps``: UTC time plus a random suffix."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def run_labels(run_id: str) -> dict[str, str]:
    return {LABEL_OWNER: "true", LABEL_RUN: run_id}


# --- engine -----------------------------------------------------------------------------------

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


# --- safe extraction --------------------------------------------------------------------------

def extract_archive(archive: IO[bytes], dest_dir: Path, source: str) -> list[str]:
    """Extract a tar archive into ``dest_dir``; return the member names written, in order.

    All or nothing: the archive is extracted into a temporary directory in ``dest_dir``
    with tarfile's ``data`` filter (no absolute or outside links, no devices or FIFOs, no
    set-id bits, no ownership), and only when every member came out are its top-level entries
    renamed into ``dest_dir``, each replacing what had its name there (a symlink in the way is
    replaced, never followed). Before anything is written, ``UnsafeArchive`` names the first
    member that breaks a rule the filter does not check:
    - names must be relative (the filter would strip a leading ``/``), free of ``..`` and NUL,
      at most ``_MAX_PARTS`` levels and ``_MAX_NAME`` characters, with a sane mtime;
    - no member may lie below a symlink (one in the archive or one already in ``dest_dir``);
    - a symlink must be relative and stay inside lexically, never passing through another
      symlink (the filter resolves against the temporary directory, whose name is not kept);
    - a hard link must point at a regular file earlier in the same archive.
    An archive that cannot be read (empty, truncated, garbage) is a ``ContainerError``, and so is
    ``dest_dir`` being a symlink: nothing is written through one.
    """
    if dest_dir.is_symlink():
        raise ContainerError(f"cannot extract the archive from {source}: {dest_dir} is a symlink "
                             "(refusing to write through it)")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        root = dest_dir.resolve()
        # Inside dest_dir, so the renames never cross a file system (dest_dir may be a mount).
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_dir))
    except OSError as exc:
        raise ContainerError(f"cannot extract the archive from {source} into {dest_dir}: "
                             f"{exc.strerror or exc}") from None
    try:
        try:
            with tarfile.open(fileobj=archive, mode="r:") as tar:
                members = tar.getmembers()
                # tarfile stops quietly at a stream cut between members; a whole archive ends
                # with a zero block (every tar writer puts two there).
                archive.seek(tar.offset)
                if archive.read(tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
                    raise tarfile.ReadError("truncated: no end-of-archive marker")
                plan = _check_members(members, root, source)
                for member, parts in plan:
                    _clear_the_way(tmp, member, parts, source)
                    tar.extract(member, tmp, set_attrs=not member.issym(), filter="data")
        except tarfile.FilterError as exc:
            member = exc.tarinfo.name if exc.tarinfo is not None else "?"
            raise UnsafeArchive(source, member, _filter_problem(exc)) from None
        except (tarfile.TarError, EOFError) as exc:
            raise ContainerError(f"cannot read the archive from {source}: {exc or 'unreadable'}") from None
        except (OSError, RecursionError) as exc:  # RecursionError: tarfile's link fallback, a last resort
            raise ContainerError(f"cannot extract the archive from {source} into {dest_dir}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
        _move_into(tmp, dest_dir, source)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ["/".join(parts) for _member, parts in plan]


_MAX_PARTS, _MAX_NAME = 256, 4096  # deeper or longer cannot be a path on Linux anyway
_MAX_MTIME = 2.0 ** 40  # year 36812: beyond it utime overflows


def _filter_problem(exc: tarfile.FilterError) -> str:
    if isinstance(exc, tarfile.SpecialFileError):
        return "is a device, FIFO or other special file"
    if isinstance(exc, tarfile.AbsoluteLinkError):
        return f"is a link to the absolute path {exc.tarinfo.linkname!r}"
    if isinstance(exc, tarfile.LinkOutsideDestinationError):
        return f"is a link to {exc.tarinfo.linkname!r}, outside the destination"
    return "would be written outside the destination"


def _clear_the_way(tmp: Path, member: tarfile.TarInfo, parts: tuple[str, ...], source: str) -> None:
    """A later member replaces an earlier one at its path, as tar does, but never a directory.

    Done here because tarfile, finding a path taken, falls back to copying the link target
    (which may be the member itself).
    """
    if not parts:
        return
    path = tmp.joinpath(*parts)
    if path.is_dir() and not path.is_symlink():
        if not member.isdir():
            raise UnsafeArchive(source, member.name, "would replace a directory")
    elif os.path.lexists(path):
        path.unlink()


def _move_into(tmp: Path, dest_dir: Path, source: str) -> None:
    """Rename the extracted top-level entries into ``dest_dir``; undo it all on a failure."""
    old = Path(tempfile.mkdtemp(prefix=".replaced-", dir=dest_dir))
    aside: list[str] = []  # names whose previous entry was moved out of the way
    placed: list[str] = []
    try:
        for entry in sorted(tmp.iterdir()):
            target = dest_dir / entry.name
            if os.path.lexists(target):
                os.rename(target, old / entry.name)
                aside.append(entry.name)
            os.rename(entry, target)
            placed.append(entry.name)
    except OSError as exc:
        for name in reversed(placed):
            _remove(dest_dir / name)
        for name in reversed(aside):
            os.rename(old / name, dest_dir / name)
        raise ContainerError(f"cannot extract the archive from {source} into {dest_dir}: "
                             f"{exc.strerror or exc}") from None
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _member_parts(member: tarfile.TarInfo, source: str) -> tuple[str, ...]:
    name = member.name
    if "\0" in name or "\0" in member.linkname:
        raise UnsafeArchive(source, name, "has a NUL character in its name or link target")
    if len(name) > _MAX_NAME or len(member.linkname) > _MAX_NAME:
        raise UnsafeArchive(source, name[:200], f"has a name or link target longer than {_MAX_NAME} characters")
    if name.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", name):
        raise UnsafeArchive(source, name, "has an absolute path")
    parts = _split(name)
    if ".." in parts:
        raise UnsafeArchive(source, name, "contains '..'")
    if len(parts) > _MAX_PARTS:
        raise UnsafeArchive(source, name[:200], f"is nested more than {_MAX_PARTS} levels deep")
    if not (isinstance(member.mtime, (int, float)) and math.isfinite(member.mtime) and abs(member.mtime) < _MAX_MTIME):
        raise UnsafeArchive(source, name, f"has an impossible modification time {member.mtime!r}")
    return parts


def _split(name: str) -> tuple[str, ...]:
    return tuple(part for part in name.split("/") if part not in ("", "."))


def _check_members(members: Iterable[tarfile.TarInfo], root: Path,
                   source: str) -> list[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    plan = [(member, _member_parts(member, source)) for member in members]
    links = {parts for member, parts in plan if member.issym()}
    files_so_far: set[tuple[str, ...]] = set()
    checked: list[tuple[tarfile.TarInfo, tuple[str, ...]]] = []
    for member, parts in plan:
        if not parts:  # the archive's own "." entry
            if member.isdir():
                continue
            raise UnsafeArchive(source, member.name, "has an empty name")
        for depth in range(1, len(parts)):
            parent = parts[:depth]
            if parent in links or root.joinpath(*parent).is_symlink():
                raise UnsafeArchive(source, member.name,
                                    f"lies below the symlink {'/'.join(parent)!r}")
        if member.issym():
            _check_symlink(member, parts, links, root, source)
        elif member.islnk():
            # Archive-relative; only an earlier regular file qualifies, which also rules out
            # absolute names and ".." (no member has those).
            if _split(member.linkname) not in files_so_far or member.linkname.startswith("/"):
                raise UnsafeArchive(source, member.name,
                                    f"is a hard link to {member.linkname!r}, "
                                    "which is not a regular file earlier in the archive")
        # What a hard link may point at is whatever was written last at that path.
        if member.isfile() or member.islnk():
            files_so_far.add(parts)
        else:
            files_so_far.discard(parts)
        checked.append((member, parts))
    return checked


def _check_symlink(member: tarfile.TarInfo, parts: tuple[str, ...], links: set[tuple[str, ...]],
                   root: Path, source: str) -> None:
    target = member.linkname
    if not target or posixpath.isabs(target):
        raise UnsafeArchive(source, member.name, f"is a symlink to the absolute path {target!r}")
    # Walk the target from the link's directory. Each step must leave from a real directory:
    # "x/.." is only the link's own directory when x is not itself a link.
    resolved = list(parts[:-1])
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if resolved and (tuple(resolved) in links or root.joinpath(*resolved).is_symlink()):
            raise UnsafeArchive(source, member.name, f"is a symlink to {target!r}, "
                                f"through the symlink {'/'.join(resolved)!r}")
        if part == "..":
            if not resolved:
                raise UnsafeArchive(source, member.name,
                                    f"is a symlink to {target!r}, outside the destination")
            resolved.pop()
        else:
            resolved.append(part)
