"""metadata_pipeline: GraalVM reachability metadata for Apache Kafka's native image.

Layout, at a glance:

- ``core/``      pure functions and frozen values: model, parsing, merge, diff, filters,
                 canonical serialisation. No file, process or Docker access.
- ``commands/``  one module per CLI command; thin wiring over core and the edges.
- the rest       edges that touch the world: ``configdir`` (files), ``schema`` (JSON schemas),
                 ``classpath`` (jars, the JDK), ``collect/`` (Docker, ducktape), ``build/``.
"""

__version__ = "0.1.0"
