"""The pure core: reachability metadata as values, and the operations on them.

Nothing under ``core`` reads files, starts processes or talks to Docker; the edges do that
and hand the core plain JSON values (already decoded) or model values.
"""
