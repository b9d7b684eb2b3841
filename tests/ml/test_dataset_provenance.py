"""Dataset provenance against a real workspace vault: registered content is quiet; unknown,
withdrawn, erased or unapproved data is reported with its digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwarden.errors import ConfigError, UsageError
from mlwarden.findings import Severity
from mlwarden.ml.approved_sources import SourcePolicy, load_source_policy, parse_source
from mlwarden.ml.provenance import ProvenanceCheck, dataset_file, manifest
from mlwarden.store.vault import Vault
from mlwarden.store.workspace_vault import init_workspace, open_vault
from mlwarden.workspace import Credential

POLICY = SourcePolicy.of(["s3://corp-data/", "https://data.example.org/curated"])


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    credential = Credential(secret=bytes(range(32)))
    init_workspace(tmp_path / "ws", credential)
    with open_vault(tmp_path / "ws", credential) as v:
        yield v


def _csv(path: Path, rows: int) -> Path:
    path.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(rows)))
    return path


def test_stored_dataset_is_quiet_and_an_unknown_one_is_reported(
    vault: Vault, tmp_path: Path
) -> None:
    stored = _csv(tmp_path / "train.csv", 50)
    vault.put(stored, "fraud/train", kind="dataset", labels={"source": "s3://corp-data/t.csv"})
    unknown = _csv(tmp_path / "copy.csv", 51)

    data = manifest([dataset_file(stored), dataset_file(unknown)])
    result = ProvenanceCheck(policy=POLICY, catalog=vault.catalog).run(data)

    assert not result.passed
    assert [(f.rule_id, f.location.path) for f in result.findings] == [
        ("MLW-PRV-001", str(unknown))
    ]
    digest = hashlib.sha256(unknown.read_bytes()).hexdigest()
    assert f"sha256:{digest}" in result.findings[0].evidence
    assert "store put" in result.findings[0].remediation
    assert result.metrics["unknown_files"] == 1.0
    assert result.scores.ranked(top=1) == [(str(unknown), 1.0)]


def test_changed_bytes_are_unknown_even_under_the_registered_name(
    vault: Vault, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "train.csv", 20)
    vault.put(path, "train", kind="dataset")
    path.write_text(path.read_text() + "999,0\n")  # one planted row
    result = ProvenanceCheck(catalog=vault.catalog).run(manifest([dataset_file(path)]))
    assert [f.rule_id for f in result.findings] == ["MLW-PRV-001"]


def test_catalog_source_label_outside_the_approved_list_is_flagged(
    vault: Vault, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "scraped.csv", 30)
    vault.put(path, "scraped", kind="dataset", labels={"source": "https://pastebin.example/x"})
    result = ProvenanceCheck(policy=POLICY, catalog=vault.catalog).run(
        manifest([dataset_file(path)])
    )
    [finding] = result.findings
    assert finding.rule_id == "MLW-PRV-002"
    assert "https://pastebin.example/x (recorded on scraped:1)" in finding.evidence


def test_deleted_and_shredded_content_is_reported(vault: Vault, tmp_path: Path) -> None:
    withdrawn = _csv(tmp_path / "withdrawn.csv", 10)
    erased = _csv(tmp_path / "erased.csv", 11)
    vault.put(withdrawn, "withdrawn", kind="dataset")
    vault.put(erased, "erased", kind="dataset")
    vault.remove("withdrawn")
    vault.shred("erased")

    result = ProvenanceCheck(catalog=vault.catalog).run(
        manifest([dataset_file(withdrawn), dataset_file(erased)])
    )
    by_path = {f.location.path: f for f in result.findings}
    assert {f.rule_id for f in result.findings} == {"MLW-PRV-003"}
    assert "deleted artifact(s) withdrawn:1" in by_path[str(withdrawn)].evidence
    assert by_path[str(withdrawn)].severity is Severity.HIGH
    assert "crypto-shredded" in by_path[str(erased)].evidence
    assert by_path[str(erased)].severity is Severity.CRITICAL
    assert result.metrics["erased_files"] == 2.0


def test_registered_content_without_any_source_cannot_be_approved(
    vault: Vault, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "d.csv", 7)
    vault.put(path, "d", kind="dataset")
    result = ProvenanceCheck(policy=POLICY, catalog=vault.catalog).run(
        manifest([dataset_file(path)])
    )
    [finding] = result.findings
    assert finding.rule_id == "MLW-PRV-002"
    assert "has no known source" in finding.evidence


def test_sources_alone_without_a_catalog(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", 5)
    good = ProvenanceCheck(policy=POLICY).run(
        manifest([dataset_file(path, source="s3://corp-data/2024/d.csv")])
    )
    assert good.passed and good.findings == ()
    bad = ProvenanceCheck(policy=POLICY).run(
        manifest([dataset_file(path, source="s3://corp-data-mirror/d.csv"), dataset_file(path)])
    )
    assert [f.rule_id for f in bad.findings] == ["MLW-PRV-002", "MLW-PRV-002"]
    assert "has no known source" in bad.findings[1].evidence


def test_nothing_to_check_and_non_manifest_input_are_usage_errors(tmp_path: Path) -> None:
    data = manifest([dataset_file(_csv(tmp_path / "d.csv", 5))])
    with pytest.raises(UsageError, match="nothing to check"):
        ProvenanceCheck().run(data)
    from sklearn.datasets import load_iris

    from mlwarden.ml.base import as_dataset

    iris = load_iris()
    with pytest.raises(UsageError, match="manifest"):
        ProvenanceCheck(policy=POLICY).run(as_dataset(iris.data, iris.target))
    with pytest.raises(UsageError, match="is a folder"):
        dataset_file(tmp_path)


@pytest.mark.parametrize(
    ("source", "approved"),
    [
        ("s3://corp-data/train/x.parquet", True),
        ("S3://CORP-DATA/train/x.parquet", True),
        ("s3://corp-data-evil/x", False),
        ("https://data.example.org/curated/x.csv", True),
        ("https://data.example.org/curated", True),
        ("https://data.example.org:443/curated/x.csv", True),
        ("https://data.example.org:8443/curated/x.csv", False),
        ("https://data.example.org/curated-raw/x.csv", False),
        ("https://data.example.org/curated/../raw/x.csv", False),
        ("https://data.example.org/curated/%2e%2e/raw/x.csv", False),
        ("http://data.example.org/curated/x.csv", False),
        ("https://data.example.org.evil.com/curated/x.csv", False),
        ("https://data.example.org@evil.com/curated/x.csv", False),
        ("data.example.org", False),
        ("https://[::1]/curated/x.csv", False),
        ("not a url", False),
    ],
)
def test_approved_source_matching(source: str, approved: bool) -> None:
    assert (POLICY.approving(source) is not None) is approved


def test_bare_host_entries_cover_any_path_on_that_host() -> None:
    policy = SourcePolicy.of(["mirror.example.org"])
    assert policy.approving("https://mirror.example.org/any/path") is not None
    assert policy.approving("mirror.example.org") is not None
    assert policy.approving("https://other.example.org/") is None


def test_reported_sources_hide_credentials() -> None:
    shown = parse_source("https://user:pw@host.example/x.csv?X-Amz-Signature=secret").shown
    assert shown == "https://host.example/x.csv?…"


def test_policy_is_read_from_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "mlwarden.toml"
    config.write_text('[check.provenance]\napproved_sources = ["s3://corp-data/"]\n')
    policy = load_source_policy(str(config))
    assert [p.text for p in policy.approved] == ["s3://corp-data/"]
    config.write_text('[check.provenance]\napproved_sources = ["s3://corp-*/"]\n')
    with pytest.raises(ConfigError, match="wildcard"):
        load_source_policy(str(config))
    config.write_text('[check.provenance]\napproved = ["s3://corp-data/"]\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_source_policy(str(config))
    monkeypatch.chdir(tmp_path / "..")
    assert not load_source_policy(None).active  # no ./mlwarden.toml: an empty policy
