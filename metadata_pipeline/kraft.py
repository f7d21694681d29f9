"""KRaft cluster ids, made as Kafka makes them (``org.apache.kafka.common.Uuid.randomUuid``).

Both edges that start a broker of their own need one: collect's wrapper entry step and the
smoke test after ``build``.
"""

from __future__ import annotations

import base64
import uuid

__all__ = ["new_cluster_id"]


def new_cluster_id() -> str:
    """16 random bytes, base64url without padding (22 characters), never starting with '-'.

    One id in 64 would otherwise start with '-', and ``kafka-storage.sh format -t ID`` reads
    such an id as an option and exits with its usage; Kafka's own ``Uuid.randomUuid`` draws
    again for the same reason.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
