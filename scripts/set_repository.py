"""Point every badge, Colab setup cell, Binder link and install URL at another GitHub location.

    python scripts/set_repository.py OWNER/NAME      # e.g. after forking the course

Rewrites ``course_rl.REPOSITORY`` and each place that names it: README.md, the notebooks'
first two cells (badge and setup cell; outputs untouched), notebooks/CONVENTIONS.md, binder/,
pyproject.toml. ``tests/test_repository_links.py`` checks that they agree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def current() -> str:
    text = (ROOT / "course_rl" / "__init__.py").read_text()
    return re.search(r'^REPOSITORY = "([^"]+)"', text, re.M).group(1)


def link_patterns(repo: str) -> list[str]:
    """The spellings of ``repo`` inside the course's links."""
    return [f"colab.research.google.com/github/{repo}/", f"mybinder.org/v2/gh/{repo}/",
            f"github.com/{repo}/", f"github.com/{repo}\"", f"github.com/{repo})",
            f"github.com/{repo}.git", f"github.com/{repo}\n"]


def rewrite(text: str, old: str, new: str) -> str:
    for pattern in link_patterns(old):
        text = text.replace(pattern, pattern.replace(old, new, 1))
    return text


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not NAME.match(argv[0]):
        print(f"usage: python scripts/set_repository.py OWNER/NAME (got {' '.join(argv)!r})",
              file=sys.stderr)
        return 2
    old, new = current(), argv[0]
    init = ROOT / "course_rl" / "__init__.py"
    init.write_text(init.read_text().replace(f'REPOSITORY = "{old}"', f'REPOSITORY = "{new}"'))
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "notebooks" / "CONVENTIONS.md",
             *sorted((ROOT / "binder").glob("*"))]
    for path in files:
        if path.is_file():
            path.write_text(rewrite(path.read_text(), old, new))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"][:2]:
            source = "".join(cell["source"])
            cell["source"] = rewrite(source, old, new).splitlines(keepends=True)
        path.write_text(json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False,
                                   separators=(",", ": ")) + "\n")  # as nbformat writes
    print(f"links now point at {new} (were {old})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
