"""Reading the checked-out commit from .git files (repositories are built by hand here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlwarden.errors import UsageError
from mlwarden.store.signing import read_git_revision

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


def make_repo(root: Path, *, head: str = "ref: refs/heads/main", config: str = "") -> Path:
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text(head + "\n")
    (git / "config").write_text(config)
    return git


ORIGIN = '[core]\n\tbare = false\n[remote "origin"]\n\turl = {url}\n\tfetch = +refs/*\n'


def test_loose_branch_ref_and_origin_url(tmp_path: Path) -> None:
    git = make_repo(tmp_path, config=ORIGIN.format(url="https://github.com/acme/fraud.git"))
    (git / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    (tmp_path / "src" / "train").mkdir(parents=True)

    revision = read_git_revision(tmp_path / "src" / "train")
    assert revision.commit == COMMIT
    assert revision.ref == "refs/heads/main"
    assert revision.repo_uri == "git+https://github.com/acme/fraud.git"


def test_packed_refs_are_read(tmp_path: Path) -> None:
    git = make_repo(tmp_path)
    (git / "packed-refs").write_text(
        f"# pack-refs with: peeled fully-peeled sorted\n{OTHER} refs/heads/dev\n"
        f"{COMMIT} refs/heads/main\n^{OTHER}\n"
    )
    assert read_git_revision(tmp_path).commit == COMMIT


def test_detached_head(tmp_path: Path) -> None:
    make_repo(tmp_path, head=COMMIT)
    revision = read_git_revision(tmp_path)
    assert (revision.commit, revision.ref) == (COMMIT, None)


def test_worktree_links_are_followed(tmp_path: Path) -> None:
    main = tmp_path / "main"
    git = make_repo(main, config=ORIGIN.format(url="git@github.com:acme/fraud.git"))
    (git / "refs" / "heads" / "feature").write_text(OTHER + "\n")
    worktree_git = git / "worktrees" / "feature"
    worktree_git.mkdir(parents=True)
    (worktree_git / "HEAD").write_text("ref: refs/heads/feature\n")
    (worktree_git / "commondir").write_text("../..\n")
    checkout = tmp_path / "feature"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {worktree_git}\n")

    revision = read_git_revision(checkout)
    assert revision.commit == OTHER
    assert revision.repo_uri == "git+ssh://github.com/acme/fraud.git"


@pytest.mark.parametrize(
    "url",
    [
        "https://oauth2:ghp_SECRETTOKEN@github.com/acme/fraud.git",
        "https://user:SECRETTOKEN@github.com:443/acme/fraud.git?token=SECRETTOKEN",
        '"https://SECRETTOKEN@github.com/acme/fraud.git"',
    ],
)
def test_credentials_in_remote_urls_are_dropped(tmp_path: Path, url: str) -> None:
    git = make_repo(tmp_path, config=ORIGIN.format(url=url))
    (git / "refs" / "heads" / "main").write_text(COMMIT)
    uri = read_git_revision(tmp_path).repo_uri
    assert "SECRETTOKEN" not in uri
    assert uri.startswith("git+https://github.com")
    assert uri.endswith("/acme/fraud.git")


def test_without_a_remote_the_folder_is_named(tmp_path: Path) -> None:
    git = make_repo(tmp_path)
    (git / "refs" / "heads" / "main").write_text(COMMIT)
    assert read_git_revision(tmp_path).repo_uri == f"git+file://{tmp_path.resolve()}"
    assert read_git_revision(tmp_path, repo_uri="git+https://x/y").repo_uri == "git+https://x/y"


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("ref: refs/heads/main", "no commits yet"),
        ("ref: refs/../../../etc/passwd", "invalid ref"),
        ("ref: /etc/passwd", "invalid ref"),
        ("garbage", "does not name"),
    ],
)
def test_unusable_heads_are_usage_errors(tmp_path: Path, head: str, message: str) -> None:
    make_repo(tmp_path, head=head)
    with pytest.raises(UsageError, match=message):
        read_git_revision(tmp_path)


def test_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not inside a git repository"):
        read_git_revision(tmp_path)
