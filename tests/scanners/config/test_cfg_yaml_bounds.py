"""YAML streams: bombs, deep nesting, recursion and syntax errors become findings, and
the documents that could be read are still checked."""

from __future__ import annotations

from config_scan_harness import scan_config

from mlwarden.scanners.config.yaml_documents import MAX_DEPTH, MAX_NODES, read_yaml_stream

PRIVILEGED_POD = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: c, image: "busybox:1.36", securityContext: {privileged: true, runAsNonRoot: true}}
"""


def billion_laughs(levels: int = 10, fan_out: int = 10) -> str:
    lines = ['l0: &l0 "lol"']
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * fan_out)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_a_limit_finding_and_other_documents_are_checked() -> None:
    text = PRIVILEGED_POD + "---\n" + billion_laughs() + "---\n" + PRIVILEGED_POD
    outcome = scan_config("bomb.yaml", text)
    limits = outcome.of("MLW-GEN-002")
    assert len(limits) == 1 and "aliases are expanded" in limits[0].evidence
    assert limits[0].location.line == 8  # the bomb document starts after the first `---`
    assert len(outcome.of("MLW-CFG-050")) == 2  # both pods around the bomb
    assert outcome.incomplete


def test_aliases_within_the_bound_are_read_normally() -> None:
    stream = read_yaml_stream(billion_laughs(levels=3, fan_out=3))
    assert not stream.problems
    assert stream.documents[0].data["l2"] == [["lol"] * 3] * 3  # type: ignore[index]


def test_expanded_size_is_counted_not_built() -> None:
    # 2**60 expanded nodes from 60 lines: only counting without expanding can finish.
    lines = ['a0: &a0 "x"'] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 61)]
    stream = read_yaml_stream("\n".join(lines))
    assert stream.documents == [] and stream.problems[0].kind == "limit"
    assert str(MAX_NODES) in stream.problems[0].message


def test_recursive_alias_is_refused() -> None:
    stream = read_yaml_stream("a: &a [1, *a]\n")
    assert stream.documents == []
    assert stream.problems[0].kind == "limit" and "recursive" in stream.problems[0].message


def test_deep_block_nesting_is_a_limit_finding() -> None:
    deep = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 20)) + "  " * 130 + "v: 1\n"
    outcome = scan_config("deep.yaml", PRIVILEGED_POD + "---\n" + deep)
    assert outcome.of("MLW-GEN-002")
    assert outcome.of("MLW-CFG-050"), "the document before the deep one is still checked"


def test_deep_flow_nesting_is_a_limit_finding_not_a_crash() -> None:
    for depth in (MAX_DEPTH + 1, 5_000, 100_000):
        outcome = scan_config("deep.yaml", "[" * depth + "]" * depth)
        assert outcome.ids() == ["MLW-GEN-002"], depth


def test_syntax_error_keeps_earlier_documents() -> None:
    text = PRIVILEGED_POD + "---\nkey: [unclosed\n---\n" + PRIVILEGED_POD
    outcome = scan_config("broken.yaml", text)
    malformed = outcome.of("MLW-GEN-003")
    assert len(malformed) == 1 and malformed[0].location.line is not None
    assert len(outcome.of("MLW-CFG-050")) == 1


def test_python_tags_are_malformed_not_constructed() -> None:
    text = "a: !!python/object/apply:os.system ['touch /tmp/pwned']\n---\n" + PRIVILEGED_POD
    outcome = scan_config("tags.yaml", text)
    assert outcome.of("MLW-GEN-003") and outcome.of("MLW-CFG-050")


def test_file_larger_than_the_config_bound_is_a_limit_finding() -> None:
    outcome = scan_config("big.yaml", "a: 1\n" * 100, max_metadata_bytes=64)
    assert outcome.ids() == ["MLW-GEN-002"]


def test_multi_document_lines_point_into_each_document() -> None:
    text = "---\n" + PRIVILEGED_POD + "---\n" + PRIVILEGED_POD.replace("name: p}", "name: q}")
    found = scan_config("two.yaml", text).of("MLW-CFG-050")
    assert [f.location.line for f in found] == [7, 14]
    assert [f.location.field for f in found] == [
        "Pod/p.spec.containers[0]",
        "Pod/q.spec.containers[0]",
    ]


def test_list_kind_items_are_checked() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "- " + line + "\n" if i == 0 else "  " + line + "\n"
        for i, line in enumerate(PRIVILEGED_POD.splitlines())
    )
    found = scan_config("list.yaml", text).of("MLW-CFG-050")
    assert len(found) == 1 and found[0].location.field == "Pod/p.spec.containers[0]"


def test_local_tags_are_read_as_data_not_malformed() -> None:
    text = "kind: Pod\nref: !Ref MyBucket\nitems: !include [a.yaml]\n---\n" + PRIVILEGED_POD
    outcome = scan_config("cfn.yaml", text)
    assert not outcome.of("MLW-GEN-003")
    assert outcome.of("MLW-CFG-050")
