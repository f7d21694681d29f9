"""The one error the classpath edge raises for a user mistake."""

from __future__ import annotations

__all__ = ["ClassPathError"]


class ClassPathError(ValueError):
    """A classpath (or JDK) the user pointed at cannot be read.

    The message is one line and names the path at fault: a missing entry, a jar that is
    not a zip, an empty classpath, no JDK. The CLI maps it to exit code 2.
    """
