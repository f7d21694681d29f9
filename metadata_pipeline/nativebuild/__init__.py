"""``build``: Kafka's native broker executable from a distribution and a configs directory.

Modules, one concept each: ``options`` (the native-image command line, pure), ``graalvm``
(which GraalVM a ``--version`` describes), ``configs`` (the configs directory, checked),
``distribution`` (a release tarball or directory; the entry point in its jars), ``runner``
(local GraalVM or a container), ``smoke`` (start, time to ready, peak RSS, clean stop),
``dry_run`` (what ``--dry-run`` prints).

Verified on every machine (the tests): everything up to native-image's invocation — the
command line for both config formats, the container spec and mounts (against a real engine,
with a stand-in native-image that records its argv), distribution handling, the entry-point
check, refusals — and the smoke test against a stand-in broker.

Only a machine with GraalVM (or a registry to pull its image from) can verify that
native-image accepts these options and configs, that the executable it writes formats
storage and starts a real broker, and the real figures: ``scripts/verify-build-with-graalvm.sh``.
"""
