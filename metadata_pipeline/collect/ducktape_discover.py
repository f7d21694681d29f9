"""Run ducktape's own test loader and write what it found as JSON.

This file is run as a script (``python ducktape_discover.py REQUEST.json RESULT.json``) by
:mod:`metadata_pipeline.collect.discovery`, under whichever Python holds the ducktape that
should load Kafka's tests, with the checkout's ``tests/`` first on ``PYTHONPATH``. It imports
nothing from metadata_pipeline and keeps to what ducktape 0.12 (Kafka's pin) and 0.17 (this
project's) both offer, and to Python 3.7 syntax, so that it runs in Kafka's own test
environment too.

REQUEST: ``{"tests_dir": ABS, "symbols": [...], "exclude": [...]}`` (absolute paths).
RESULT: ``{"ducktape_version", "python", "tests": [...]}`` or ``{"error": {"kind", "message",
...}}``. Import failures are errors: ducktape only logs them and silently loses the tests of
the broken file, which would make a plan look complete when it is not.
"""

import json
import logging
import os
import sys
import tempfile


class _Logger(logging.Logger):
    """Records the loader's errors; ``warn`` kept for ducktape on Python >= 3.13."""

    def __init__(self):
        logging.Logger.__init__(self, "metadata_pipeline.discovery", logging.DEBUG)
        self.propagate = False
        self.errors = []

    def handle(self, record):
        if record.levelno < logging.ERROR:
            return
        args = record.args if isinstance(record.args, tuple) else ()
        # ducktape logs a failed import as (module name, exception class name, exception).
        if len(args) == 3 and isinstance(args[2], BaseException):
            self.errors.append({"module": str(args[0]), "error": "%s: %s" % (args[1], args[2])})
        else:
            self.errors.append({"module": "", "error": record.getMessage()})

    def warn(self, msg, *args, **kwargs):
        self.warning(msg, *args, **kwargs)


def _error(kind, message, **extra):
    error = {"kind": kind, "message": message}
    error.update(extra)
    return {"error": error}


def _test_json(ctx):
    declared = bool(getattr(ctx, "cluster_use_metadata", None))
    # Tuples become lists, anything else JSON cannot hold its repr: for display only, the
    # test id is the identity.
    args = json.loads(json.dumps(ctx.injected_args, default=repr))
    return {
        "test_id": ctx.test_id,
        "file": ctx.file,
        "module": ctx.module,
        "class": ctx.cls_name,
        "method": ctx.function_name,
        "injected_args": args,
        "ignored": bool(ctx.ignore),
        "nodes": ctx.expected_num_nodes if declared else None,
    }


def discover(request):
    try:
        import ducktape
        from ducktape.tests.loader import LoaderException, TestLoader
        from ducktape.tests.session import SessionContext
    except ImportError as exc:
        return _error("no-ducktape", "%s: %s" % (type(exc).__name__, exc))
    tests_dir = os.path.realpath(request["tests_dir"])
    try:
        import kafkatest
    except Exception as exc:  # any failure importing the package is the checkout's problem
        return _error("import", "%s: %s" % (type(exc).__name__, exc), module="kafkatest")
    found = os.path.realpath(os.path.dirname(kafkatest.__file__))
    if not found.startswith(tests_dir + os.sep):
        return _error("shadowed", "kafkatest imports from %s, not from %s" % (found, tests_dir))

    logger = _Logger()
    with tempfile.TemporaryDirectory() as results:
        session = SessionContext(session_id="metadata-pipeline-discovery", results_dir=results)
        loader = TestLoader(session, logger)
        try:
            contexts = loader.load(request["symbols"], excluded_test_symbols=request["exclude"] or None)
        except LoaderException as exc:
            if logger.errors:
                return _error("import", logger.errors[0]["error"], module=logger.errors[0]["module"],
                              more=len(logger.errors) - 1)
            return _error("loader", str(exc))
    if logger.errors:
        return _error("import", logger.errors[0]["error"], module=logger.errors[0]["module"],
                      more=len(logger.errors) - 1)
    return {
        "ducktape_version": getattr(ducktape, "__version__", "unknown"),
        "python": sys.executable,
        "tests": [_test_json(ctx) for ctx in contexts],
    }


def main(argv):
    with open(argv[1]) as f:
        request = json.load(f)
    # Tests' modules may print while imported; only RESULT carries the answer.
    sys.stdout = sys.stderr
    result = discover(request)
    with open(argv[2], "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
