"""Container image references: ``registry:port/name:tag@sha256:digest``."""

from __future__ import annotations


def image_parts(reference: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; a registry port is not a tag."""
    name, _at, digest = reference.strip().partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        name = name[: len(name) - len(tag) - 1]
    return name, tag, digest or None


def unpinned_reason(reference: str) -> str | None:
    """Why ``reference`` does not name fixed content: ``no tag``, ``latest``, ``tag only``;
    ``None`` when it carries a digest."""
    _name, tag, digest = image_parts(reference)
    if digest:
        return None
    if tag is None:
        return "no tag"
    if tag == "latest":
        return "latest"
    return "tag only"
