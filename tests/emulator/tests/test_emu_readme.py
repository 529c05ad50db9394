"""The README's promises: every documented IBM behaviour is exercised by a named emulator test that exists."""
from __future__ import annotations

import ast
import os
import pathlib
import re

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
README = TESTS.parent / "README.md"
REPO = TESTS.parents[2]
# The project's ICR/IAM reference lives next to the repository; CI without it checks the table alone.
REFERENCE = pathlib.Path(os.environ.get("ICR_PROTOCOL_REFERENCE", REPO.parent / "shared" / "reference" / "icr-iam-protocol.md"))


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## " + title + "\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def coverage_rows() -> list[tuple[str, str, list[str]]]:
    rows = []
    for line in section("Documented behaviours and their tests").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.match(r"^\d+(\.\d+)?$", cells[0]):
            rows.append((cells[0], cells[1], [t.strip() for t in cells[2].split(",") if t.strip()]))
    return rows


def defined_tests(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_named_test_exists() -> None:
    rows = coverage_rows()
    assert len(rows) >= 12
    missing = []
    for ref, _behaviour, tests in rows:
        assert tests, f"row {ref} names no test"
        for name in tests:
            filename, sep, func = name.partition("::")
            path = TESTS / filename
            if not sep or not path.is_file() or func not in defined_tests(path):
                missing.append(f"{ref}: {name}")
    assert missing == []


def verified_sections(text: str) -> list[str]:
    """Section numbers whose heading says `verified`, and subsections under a verified top-level section."""
    found = []
    top_verified = False
    for line in text.splitlines():
        match = re.match(r"^(#{2,3}) (\d+(?:\.\d+)?)[. ]", line)
        if not match:
            continue
        level, number = len(match.group(1)), match.group(2)
        verified = "(verified" in line
        if level == 2:
            top_verified = verified
        if verified or (level == 3 and top_verified):
            found.append(number)
        elif level == 3 and number == "2.6":
            found.append(number)  # claims of the broker page and the user token: quoted from IBM's docs
    return found


@pytest.mark.skipif(not REFERENCE.is_file(), reason="the ICR/IAM reference is not next to the repository")
def test_every_verified_section_of_the_reference_has_a_row() -> None:
    refs = {row[0] for row in coverage_rows()}
    sections = verified_sections(REFERENCE.read_text(encoding="utf-8"))
    assert sections, "no verified section found: has the reference changed its markers?"
    assert [s for s in sections if s not in refs] == []


def test_variants_and_fidelity_tables_name_every_switch() -> None:
    from icr_emulator.variants import Variants
    variants = section("Variants")
    fidelity = section("Fidelity")
    for name in Variants().as_dict():
        assert f"`{name}`" in variants, name
    for name in ("token_style", "denial", "bad_credential_status", "echo_error_details", "refresh_idle_timeout",
                 "challenge_realm", "retry_after_form"):
        assert name in fidelity, name


def test_invented_codes_are_marked_in_the_readme_and_the_code() -> None:
    from icr_emulator.iam import INVENTED_CODES
    errors = section("IAM errors (status 400 unless noted; body `{\"context\": {...}, \"errorCode\", \"errorMessage\", \"errorDetails\"?}`)")
    for code in INVENTED_CODES:
        row = next(line for line in errors.splitlines() if f"`{code}`" in line)
        assert "**invented**" in row, row
    for line in errors.splitlines():
        if line.startswith("| ") and "BXNIM" in line and "**invented**" not in line:
            assert "IBM" in line.split("|")[3], f"a documented code without its source: {line}"
