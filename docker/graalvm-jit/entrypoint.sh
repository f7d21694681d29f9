#!/bin/sh
# Node start: host keys of this container's own (none are in the image), then sshd in the
# foreground. The run's client key pair is injected by collect once the container runs.
set -eu
ssh-keygen -A >/dev/null
exec /usr/sbin/sshd -D -e
