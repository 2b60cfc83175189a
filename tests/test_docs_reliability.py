"""docs/reliability.md names, for each guarantee, tests that exist; one marked slow (run by
`make test-slow`, which .ci/run runs after `make test`) is said to be on its line."""

from __future__ import annotations

import re

from conftest import ROOT

TEST_REF = re.compile(r"`(tests/test_\w+\.py)::(test_\w+)`")


def decorators_of(source: str, name: str) -> str:
    """The lines just above `def name(` (its decorators), up to the blank line before them."""
    lines = source.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    above = []
    for line in reversed(lines[:index]):
        if not line.strip():
            break
        above.append(line)
    return "\n".join(above)


def test_every_guarantee_names_tests_that_exist_and_says_which_are_slow() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text()
    sections = re.split(r"^## \d\. ", text, flags=re.MULTILINE)[1:]
    assert len(sections) == 6  # the six points
    for section in sections:
        refs = TEST_REF.findall(section)
        assert refs, section.splitlines()[0]
        for path, name in refs:
            source = (ROOT / path).read_text()
            assert f"\ndef {name}(" in source, f"{path}::{name} does not exist"
            if "mark.slow" in decorators_of(source, name):
                line = next(li for li in section.splitlines() if f"{path}::{name}" in li)
                assert "test-slow" in line, f"{path}::{name} is slow: say so on its line"
