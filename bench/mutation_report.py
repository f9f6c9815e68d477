"""Write mutmut's outcome as files to commit: the kill rate per module and every survivor's diff.

Usage: python bench/mutation_report.py OUT_DIR (after `mutmut run`, from the project root).
"""

import collections
import subprocess
import sys
import tomllib
from datetime import datetime, timezone
from pathlib import Path

MUTMUT = [sys.executable, "-m", "mutmut"]


def results():
    """Return [(mutant name, status)] of every mutant mutmut knows."""
    out = subprocess.run([*MUTMUT, "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name and status:
            rows.append((name, status))
    return rows


def module_of(name):
    # vmeeting.booking.conflicts.x_peak__mutmut_3 → vmeeting.booking.conflicts
    return ".".join(part for part in name.split(".") if not part.startswith(("x_", "xǁ")))


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = results()
    per_module = collections.defaultdict(collections.Counter)
    for name, status in rows:
        per_module[module_of(name)][status] += 1
    config = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]
    lines = [f"mutmut, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
             "modules: " + ", ".join(config["only_mutate"]),
             "tests: " + ", ".join(config["pytest_add_cli_args_test_selection"]) + " (SQLite)", "",
             "module  killed/judged  kill-rate  (survived, timeout, no tests, other)"]
    total = collections.Counter()
    for module, counts in sorted(per_module.items()):
        total.update(counts)
        lines.append(_line(module, counts))
    lines.append(_line("ALL", total))
    lines.append("")
    lines.append("judged = killed + survived + timeout; a timeout counts as killed (the mutant hung the tests).")
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    survivors = [name for name, status in rows if status == "survived"]
    diffs = [subprocess.run([*MUTMUT, "show", name], capture_output=True, text=True).stdout for name in survivors]
    (out / "survivors.txt").write_text("\n".join(f"# {name}\n{diff}" for name, diff in zip(survivors, diffs)))
    print("\n".join(lines))


def _line(module, counts):
    killed = counts["killed"] + counts["timeout"]
    judged = killed + counts["survived"]
    rate = f"{100 * killed / judged:.1f}%" if judged else "-"
    other = sum(counts.values()) - judged - counts["no tests"]
    return f"{module}  {killed}/{judged}  {rate}  ({counts['survived']}, {counts['timeout']}, {counts['no tests']}, {other})"


if __name__ == "__main__":
    main(sys.argv[1])
