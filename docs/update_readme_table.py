"""Rewrite the README's loss table from the registry: python docs/update_readme_table.py"""

from pathlib import Path

from losscli.cli.catalog import markdown_table

START, END = "<!-- losses-table:start -->\n", "<!-- losses-table:end -->"
readme = Path(__file__).resolve().parents[1] / "README.md"
text = readme.read_text()
head, rest = text.split(START, 1)
_, tail = rest.split(END, 1)
readme.write_text(head + START + markdown_table() + END + tail)
