"""The agent option string: every combination of options, rendered or refused."""

from __future__ import annotations

import itertools

import pytest

from metadata_pipeline.collect.agent_options import DEFAULT_OUTPUT_DIR, AgentOptions, InvalidAgentOptions

DIRS = [None, DEFAULT_OUTPUT_DIR, "/out/{hostname}-{pid}", "/out/fixed", "out/relative", "/out/a,b",
        "/out/{datetime}", "/out/{nope}", "/out/{token}/x", "/out/{token}{token}", "/out/{oops", "/out/new\nline"]
PERIODS = [None, 1, 30, 0, -5]
DELAYS = [None, 0, 7, -1]
FILTERS = [(), ("/f/a.json",), ("/f/a.json", "/f/b.json"), ("/f/x,y.json",), ("rel.json",), ("/f/{pid}.json",)]
BOOLS = [False, True]

# The agent's defaults: options equal to these are not written.
AGENT_DEFAULTS = {"builtin-caller-filter": True, "builtin-heuristic-filter": True,
                  "experimental-class-loader-support": True, "experimental-class-define-support": False,
                  "experimental-unsafe-allocation-support": False, "track-reflection-metadata": True}
BOOL_FIELDS = {"builtin_caller_filter": "builtin-caller-filter",
               "builtin_heuristic_filter": "builtin-heuristic-filter",
               "experimental_class_loader_support": "experimental-class-loader-support",
               "experimental_class_define_support": "experimental-class-define-support",
               "experimental_unsafe_allocation_support": "experimental-unsafe-allocation-support",
               "track_reflection_metadata": "track-reflection-metadata"}


def path_ok(path: str) -> bool:
    return path.startswith("/") and "," not in path and "\n" not in path and "{" not in path and "}" not in path


def dir_ok(path: str | None) -> bool:
    return path in (None, DEFAULT_OUTPUT_DIR, "/out/{hostname}-{pid}", "/out/fixed")


def expected_error(o: dict) -> bool:
    """The rules, stated independently of the implementation."""
    return (not dir_ok(o["output_dir"])
            or any(not path_ok(p) for p in o["access_filter_files"] + o["caller_filter_files"]
                   + o["conditional_config_filter_files"])
            or (o["write_period_secs"] is not None and o["write_period_secs"] < 1)
            or (o["write_initial_delay_secs"] is not None and o["write_initial_delay_secs"] < 0)
            or (o["write_period_secs"] is not None and o["output_dir"] is None)
            or (o["write_initial_delay_secs"] is not None and o["write_period_secs"] is None)
            or (bool(o["conditional_config_filter_files"]) and o["conditional_config_part"]))


def parse(rendered: str) -> list[tuple[str, str | None]]:
    """Split as the agent does: on every comma, then at the first '='."""
    tokens = rendered.split(",") if rendered else []
    return [(t.split("=", 1)[0], t.split("=", 1)[1] if "=" in t else None) for t in tokens]


def combinations():
    for (out, period, delay, access, caller, cond, part) in itertools.product(
            DIRS, PERIODS, DELAYS, FILTERS, FILTERS[:3] + FILTERS[3:4], FILTERS[:2] + FILTERS[4:5], BOOLS):
        yield dict(output_dir=out, write_period_secs=period, write_initial_delay_secs=delay,
                   access_filter_files=access, caller_filter_files=caller,
                   conditional_config_filter_files=cond, conditional_config_part=part)


def test_every_combination_is_rendered_exactly_or_refused():
    checked = refused = 0
    for opts in combinations():
        if expected_error(opts):
            with pytest.raises(InvalidAgentOptions):
                AgentOptions(**opts)
            refused += 1
            continue
        tokens = parse(AgentOptions(**opts).render())
        expected = []
        if opts["output_dir"] is not None:
            expected.append(("config-output-dir", opts["output_dir"]))
        if opts["write_period_secs"] is not None:
            expected.append(("config-write-period-secs", str(opts["write_period_secs"])))
        if opts["write_initial_delay_secs"] is not None:
            expected.append(("config-write-initial-delay-secs", str(opts["write_initial_delay_secs"])))
        expected += [("access-filter-file", p) for p in opts["access_filter_files"]]
        expected += [("caller-filter-file", p) for p in opts["caller_filter_files"]]
        expected += [("experimental-conditional-config-filter-file", p) for p in opts["conditional_config_filter_files"]]
        if opts["conditional_config_part"]:
            expected.append(("experimental-conditional-config-part", None))
        assert sorted(tokens, key=repr) == sorted(expected, key=repr), opts
        # Filter files keep their order: across files, later rules win.
        assert [v for k, v in tokens if k == "access-filter-file"] == list(opts["access_filter_files"])
        checked += 1
    assert checked > 500 and refused > 10000  # the domain above really holds both kinds


@pytest.mark.parametrize("flags", list(itertools.product(BOOLS, repeat=len(BOOL_FIELDS))))
def test_every_flag_combination_writes_only_what_differs_from_the_agent_default(flags):
    values = dict(zip(BOOL_FIELDS, flags))
    tokens = dict(parse(AgentOptions(**values).render()))
    for field, option in BOOL_FIELDS.items():
        if values[field] == AGENT_DEFAULTS[option]:
            assert option not in tokens
        else:
            assert tokens[option] == ("true" if values[field] else "false")


def test_defaults_render_the_per_process_dir_and_periodic_snapshots():
    assert AgentOptions().jvm_argument() == (
        "-agentlib:native-image-agent=config-output-dir=/mnt/native-image-agent/{main_class}/{hostname}-{pid}-{token},"
        "config-write-period-secs=3,config-write-initial-delay-secs=1")
    bare = AgentOptions(output_dir=None, write_period_secs=None, write_initial_delay_secs=None)
    assert bare.render() == "" and bare.jvm_argument() == "-agentlib:native-image-agent"


@pytest.mark.parametrize("kwargs, message", [
    (dict(output_dir=None), "write_period_secs needs output_dir"),
    (dict(write_period_secs=-1), "write_period_secs: -1 must be >= 1"),
    (dict(write_period_secs=0), "write_period_secs: 0 must be >= 1"),
    (dict(write_period_secs=None), "write_initial_delay_secs needs write_period_secs"),
    (dict(write_period_secs=2.5), "expected whole seconds"),
    (dict(write_period_secs=True), "expected whole seconds"),
    (dict(output_dir="/a,b/{token}"), "contains a comma, but the agent splits its options on commas"),
    (dict(access_filter_files=("/f/a,b.json",)), "access_filter_files: '/f/a,b.json': contains a comma"),
    (dict(caller_filter_files=("filters/x.json",)), "caller_filter_files: 'filters/x.json': must be an absolute path"),
    (dict(access_filter_files=["/f/a.json"]), "expected a tuple of paths"),
    (dict(output_dir="/out/{datetime}"), "use {token}"),
    (dict(output_dir="/out/{token}/x"), "{token} must be in the last path component"),
    (dict(builtin_caller_filter="no"), "expected true or false"),
    (dict(conditional_config_filter_files=("/f/c.json",), conditional_config_part=True), "exclude each other"),
])
def test_invalid_options_say_what_is_wrong(kwargs, message):
    with pytest.raises(InvalidAgentOptions) as exc:
        AgentOptions(**kwargs)
    assert message in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_options_are_frozen_values():
    a, b = AgentOptions(access_filter_files=("/f/a.json",)), AgentOptions(access_filter_files=("/f/a.json",))
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.write_period_secs = 3  # type: ignore[misc]
