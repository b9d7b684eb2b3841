"""The git commit a training run's code came from, read from ``.git`` without running git.

Running ``git`` inside a repository executes whatever its config names (``core.fsmonitor``,
hooks, filters), so the commit is read from the repository files instead: ``HEAD``, loose
refs, ``packed-refs``, worktree ``gitdir`` and ``commondir`` links, and the remote URL in
``config``. Every file read is bounded. Whether the working tree has uncommitted changes
cannot be known this way; record that separately if it matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mlwarden.errors import UsageError
from mlwarden.store.signing.bounded_reading import read_bounded

MAX_GIT_FILE_BYTES = 4096
"""Largest HEAD, ref or ``.git`` link file read."""
MAX_PACKED_REFS_BYTES = 64 * 1024 * 1024
MAX_CONFIG_BYTES = 1024 * 1024
_MAX_PARENTS = 64
_MAX_SYMREF_DEPTH = 5
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REMOTE_HEADER = re.compile(r'\[\s*remote\s+"((?:[^"\\]|\\.)*)"\s*\]', re.IGNORECASE)
_FIX = "pass a CodeRevision built by hand, or point at a git checkout with a commit"


@dataclass(frozen=True)
class CodeRevision:
    """The source code of a run: a repository and the commit checked out."""

    repo_uri: str
    """Where the code lives, e.g. ``git+https://github.com/org/repo``; never credentials."""
    commit: str
    """The commit id (40 hex for SHA-1 repositories, 64 for SHA-256 ones)."""
    ref: str | None = None
    """The branch checked out (``refs/heads/main``), or ``None`` when detached."""


def read_git_revision(
    path: Path | str = ".", *, remote: str = "origin", repo_uri: str | None = None
) -> CodeRevision:
    """Find the repository containing ``path`` and return its checked-out commit.

    ``repo_uri`` defaults to ``git+`` and the URL of ``remote`` with any user name or
    token removed; without that remote, to ``git+file://`` and the repository folder.
    Raises :class:`UsageError` outside a repository, on an unborn branch or on unreadable
    repository files.
    """
    worktree, git_dir = _find_repository(Path(path).resolve())
    common_dir = _common_dir(git_dir)
    ref, commit = _resolve_head(git_dir, common_dir)
    uri = repo_uri or _remote_uri(common_dir, remote) or f"git+file://{worktree}"
    return CodeRevision(repo_uri=uri, commit=commit, ref=ref)


def _find_repository(start: Path) -> tuple[Path, Path]:
    folder = start if start.is_dir() else start.parent
    for candidate in [folder, *folder.parents][:_MAX_PARENTS]:
        marker = candidate / ".git"
        if marker.is_dir():
            return candidate, marker
        if marker.is_file():
            # Worktrees and submodules: ".git" is a file "gitdir: <path>".
            text = _read_text(marker)
            if not text.startswith("gitdir:"):
                raise UsageError(str(marker), "is not a gitdir link", _FIX)
            target = Path(text.removeprefix("gitdir:").strip())
            return candidate, (candidate / target).resolve()
    raise UsageError(str(start), "is not inside a git repository", _FIX)


def _common_dir(git_dir: Path) -> Path:
    link = git_dir / "commondir"
    if link.is_file():
        return (git_dir / _read_text(link).strip()).resolve()
    return git_dir


def _resolve_head(git_dir: Path, common_dir: Path) -> tuple[str | None, str]:
    content = _read_text(git_dir / "HEAD").strip()
    branch: str | None = None
    for _ in range(_MAX_SYMREF_DEPTH):
        if _COMMIT.fullmatch(content):
            return branch, content
        if not content.startswith("ref:"):
            raise UsageError(str(git_dir / "HEAD"), "does not name a commit or a ref", _FIX)
        ref = content.removeprefix("ref:").strip()
        _check_ref_name(ref, git_dir)
        branch = branch or ref
        resolved = _read_ref(git_dir, common_dir, ref)
        if resolved is None:
            raise UsageError(str(git_dir), f"the branch {ref} has no commits yet", _FIX)
        content = resolved
    raise UsageError(str(git_dir / "HEAD"), "symbolic refs nest too deeply", _FIX)


def _read_ref(git_dir: Path, common_dir: Path, ref: str) -> str | None:
    for base in dict.fromkeys((git_dir, common_dir)):
        loose = base / ref
        if loose.is_file():
            return _read_text(loose).strip()
    packed = common_dir / "packed-refs"
    if packed.is_file():
        text = read_bounded(packed, MAX_PACKED_REFS_BYTES, "packed-refs file").decode(
            "utf-8", "replace"
        )
        for line in text.splitlines():
            commit, _, name = line.partition(" ")
            if name == ref and _COMMIT.fullmatch(commit):
                return commit
    return None


def _check_ref_name(ref: str, git_dir: Path) -> None:
    # A ref is read as a file path: refuse anything that could leave the repository.
    parts = ref.split("/")
    if not ref.startswith("refs/") or any(p in ("", ".", "..") for p in parts) or "\0" in ref:
        raise UsageError(str(git_dir / "HEAD"), f"names an invalid ref {ref[:80]!r}", _FIX)


def _remote_uri(common_dir: Path, remote: str) -> str | None:
    config = common_dir / "config"
    if not config.is_file():
        return None
    text = read_bounded(config, MAX_CONFIG_BYTES, "git config").decode("utf-8", "replace")
    in_remote = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            header = _REMOTE_HEADER.fullmatch(line)
            in_remote = header is not None and header.group(1) == remote
            continue
        key, equals, value = line.partition("=")
        if in_remote and equals and key.strip().lower() == "url":
            return _public_uri(_config_value(value))
    return None


def _config_value(value: str) -> str:
    value = value.strip()
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return value[1:-1]
    for marker in (" #", " ;", "\t#", "\t;"):
        value = value.split(marker, 1)[0]
    return value.strip()


def _public_uri(url: str) -> str:
    """A ``git+`` URI for a remote URL, without user names, passwords or tokens."""
    if "://" in url:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        clean = urlunsplit((parts.scheme, host, parts.path, "", ""))
        return clean if clean.startswith("git+") else f"git+{clean}"
    scp = re.fullmatch(r"(?:[^@/]+@)?([^:/]+):(.+)", url)
    if scp:  # scp-like "git@host:org/repo.git"
        return f"git+ssh://{scp.group(1)}/{scp.group(2).lstrip('/')}"
    return f"git+file://{url}"


def _read_text(path: Path) -> str:
    return read_bounded(path, MAX_GIT_FILE_BYTES, "git metadata file").decode("utf-8", "replace")
