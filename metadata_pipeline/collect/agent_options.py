"""The native-image agent's option string, built in one place (pure).

Everything that attaches the agent — the java shim on the nodes (through the ``agent.env``
that :mod:`metadata_pipeline.collect.instrumentation` writes), ``collect --dry-run``, the
tests — renders the option string from one :class:`AgentOptions` value, so what is shown,
tested and run is the same text.

Grammar facts this module enforces (from the agent's own option parser): the string is split
on commas with no escaping, so a path can never contain a comma; an unknown option or a bad
number stops the JVM before it runs; relative paths resolve against the JVM's working
directory, which differs per service on a node, so paths must be absolute. Options equal to
the agent's defaults are left out, which keeps the string short and accepted by older agents
that do not know newer option names.

The output directory is a template. The shim fills in ``{main_class}``, ``{hostname}``,
``{pid}`` (the JVM's, as the shim execs java) and ``{token}`` (a fresh random name made with
``mktemp -d``, which also creates the directory atomically: two JVMs never share one, and the
agent refuses a directory another agent has locked). ``{pid}`` means the same when the agent
substitutes it itself; the agent's ``{datetime}`` is refused because the directory must exist
under its final name before the JVM starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from metadata_pipeline.errors import UsageError

__all__ = [
    "AgentOptions",
    "InvalidAgentOptions",
    "AGENT_LIBRARY",
    "DEFAULT_OUTPUT_DIR",
    "OUTPUT_ROOT",
    "PLACEHOLDERS",
]

AGENT_LIBRARY = "native-image-agent"
OUTPUT_ROOT = "/mnt/native-image-agent"
PLACEHOLDERS = ("{main_class}", "{hostname}", "{pid}", "{token}")
DEFAULT_OUTPUT_DIR = OUTPUT_ROOT + "/{main_class}/{hostname}-{pid}-{token}"

_PLACEHOLDER = re.compile(r"\{[^{}/]*\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidAgentOptions(UsageError, ValueError):
    """Agent options the agent would reject, or that would not do what they say."""


@dataclass(frozen=True)
class AgentOptions:
    """What the agent is told; ``None``/defaults are not written into the option string.

    ``write_period_secs`` makes the agent write a snapshot every so many seconds, so that a
    JVM killed with SIGKILL (fault tests) still leaves its last snapshot; without it the agent
    writes only at a normal exit.
    """

    output_dir: str | None = DEFAULT_OUTPUT_DIR
    # A combined-KRaft teardown SIGKILLs the last controller a few seconds after it started: the
    # first snapshot 1 s after JVM start, then one every 3 s (README: what that costs).
    write_period_secs: int | None = 3
    write_initial_delay_secs: int | None = 1
    access_filter_files: tuple[str, ...] = ()
    caller_filter_files: tuple[str, ...] = ()
    builtin_caller_filter: bool = True
    builtin_heuristic_filter: bool = True
    experimental_class_loader_support: bool = True
    experimental_class_define_support: bool = False
    experimental_unsafe_allocation_support: bool = False
    track_reflection_metadata: bool = True
    conditional_config_filter_files: tuple[str, ...] = ()
    conditional_config_part: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool" and not isinstance(value, bool):
                raise InvalidAgentOptions(f"{f.name}: expected true or false, got {value!r}")
            is_paths = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
            if f.type == "tuple[str, ...]" and not is_paths:
                raise InvalidAgentOptions(f"{f.name}: expected a tuple of paths, got {value!r}")
        if self.output_dir is not None:
            _check_path("output_dir", self.output_dir)
            _check_template(self.output_dir)
        for name in ("access_filter_files", "caller_filter_files", "conditional_config_filter_files"):
            for path in getattr(self, name):
                _check_path(name, path)
                if _PLACEHOLDER.search(path):
                    raise InvalidAgentOptions(f"{name}: {path!r}: placeholders are only filled in output_dir")
        _check_seconds("write_period_secs", self.write_period_secs, minimum=1)
        _check_seconds("write_initial_delay_secs", self.write_initial_delay_secs, minimum=0)
        if self.write_period_secs is not None and self.output_dir is None:
            raise InvalidAgentOptions("write_period_secs needs output_dir: periodic writes go to the output directory")
        if self.write_initial_delay_secs is not None and self.write_period_secs is None:
            raise InvalidAgentOptions(
                "write_initial_delay_secs needs write_period_secs: the agent ignores the delay without a period")
        if self.conditional_config_filter_files and self.conditional_config_part:
            raise InvalidAgentOptions(
                "conditional_config_filter_files and conditional_config_part exclude each other "
                "(the agent makes conditional config either for this run or as a partial run)")

    def render(self) -> str:
        """The text after ``-agentlib:native-image-agent=`` (empty when all options are defaults)."""
        tokens: list[str] = []
        if self.output_dir is not None:
            tokens.append(f"config-output-dir={self.output_dir}")
        if self.write_period_secs is not None:
            tokens.append(f"config-write-period-secs={self.write_period_secs}")
        if self.write_initial_delay_secs is not None:
            tokens.append(f"config-write-initial-delay-secs={self.write_initial_delay_secs}")
        # Order kept: across several filter files, later rules win.
        tokens += [f"access-filter-file={p}" for p in self.access_filter_files]
        tokens += [f"caller-filter-file={p}" for p in self.caller_filter_files]
        for name, value, default in (
            ("builtin-caller-filter", self.builtin_caller_filter, True),
            ("builtin-heuristic-filter", self.builtin_heuristic_filter, True),
            ("experimental-class-loader-support", self.experimental_class_loader_support, True),
            ("experimental-class-define-support", self.experimental_class_define_support, False),
            ("experimental-unsafe-allocation-support", self.experimental_unsafe_allocation_support, False),
            ("track-reflection-metadata", self.track_reflection_metadata, True),
        ):
            if value != default:
                tokens.append(f"{name}={'true' if value else 'false'}")
        tokens += [f"experimental-conditional-config-filter-file={p}" for p in self.conditional_config_filter_files]
        if self.conditional_config_part:
            tokens.append("experimental-conditional-config-part")
        return ",".join(tokens)

    def jvm_argument(self) -> str:
        """The whole JVM argument, e.g. ``-agentlib:native-image-agent=config-output-dir=...``."""
        rendered = self.render()
        return f"-agentlib:{AGENT_LIBRARY}" + (f"={rendered}" if rendered else "")


def _check_path(name: str, path: str) -> None:
    if not path.startswith("/"):
        raise InvalidAgentOptions(
            f"{name}: {path!r}: must be an absolute path (JVMs on a node run in different directories)")
    if "," in path:
        raise InvalidAgentOptions(f"{name}: {path!r}: contains a comma, but the agent splits its options on commas")
    if _CONTROL.search(path):
        raise InvalidAgentOptions(f"{name}: {path!r}: contains a control character")


def _check_template(template: str) -> None:
    for placeholder in _PLACEHOLDER.findall(template):
        if placeholder == "{datetime}":
            raise InvalidAgentOptions(
                f"output_dir: {template!r}: {{datetime}} is filled by the agent after the JVM starts, "
                "but the directory is made before; use {token}")
        if placeholder not in PLACEHOLDERS:
            raise InvalidAgentOptions(
                f"output_dir: {template!r}: unknown placeholder {placeholder} (known: {', '.join(PLACEHOLDERS)})")
    if template.count("{token}") > 1:
        raise InvalidAgentOptions(f"output_dir: {template!r}: {{token}} may appear once")
    if "{token}" in template and "{token}" not in template.rsplit("/", 1)[1]:
        raise InvalidAgentOptions(f"output_dir: {template!r}: {{token}} must be in the last path component")
    if re.search(r"[{}]", _PLACEHOLDER.sub("", template)):
        raise InvalidAgentOptions(f"output_dir: {template!r}: unbalanced brace")


def _check_seconds(name: str, value: int | None, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAgentOptions(f"{name}: expected whole seconds, got {value!r}")
    if value < minimum:
        raise InvalidAgentOptions(f"{name}: {value} must be >= {minimum}")
