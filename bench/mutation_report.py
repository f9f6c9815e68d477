"""Write mutmut's outcome as files to commit: the kill rate per module and every survivor's diff.

Usage, from the project root:
    python bench/mutation_report.py --names            the mutant globs to run, one a line
    python bench/mutation_report.py OUT_DIR [SECONDS]  after `mutmut run`: OUT_DIR/summary.txt and
                                                       OUT_DIR/survivors.txt; SECONDS is the run's wall time

The mutants counted are those of [tool.vmeeting.mutation] `mutants` in pyproject.toml. A mutant
no selected test reaches ("no tests") or that was never run counts against the kill rate: it is a
change of behaviour nothing would notice. Why a survivor survives is written beside its name in
bench/mutation/equivalent.txt ("name: reason"), kept by hand across runs.
"""

import collections
import fnmatch
import subprocess
import sys
import tomllib
from datetime import datetime, timezone
from pathlib import Path

MUTMUT = [sys.executable, "-m", "mutmut"]
KILLED = ("killed", "timeout")


def scope():
    """Return (mutmut's config table, [mutant name globs]) from pyproject.toml."""
    tool = tomllib.loads(Path("pyproject.toml").read_text())["tool"]
    return tool["mutmut"], tool["vmeeting"]["mutation"]["mutants"]


def results(globs):
    """Return [(mutant name, status)] of every mutant mutmut knows that one of the globs names."""
    out = subprocess.run([*MUTMUT, "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name and status and any(fnmatch.fnmatchcase(name, g) for g in globs):
            rows.append((name, status))
    return rows


def module_of(name):
    # vmeeting.booking.conflicts.x_peak__mutmut_3 → vmeeting.booking.conflicts
    return ".".join(part for part in name.split(".") if not part.startswith(("x_", "xǁ")))


def diff_of(name):
    """Return the mutant's diff against the source (what `mutmut show NAME` prints), read in this process."""
    from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant

    return get_diff_for_mutant(name, path=find_mutant(name).path)


def reasons(path):
    """Return {mutant name: why it survives} from the hand-kept file, {} when there is none."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        name, sep, why = line.partition(": ")
        if sep and not line.startswith("#"):
            found[name.strip()] = why.strip()
    return found


def main(out_dir, seconds=None):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config, globs = scope()
    rows = results(globs)
    per_module = collections.defaultdict(collections.Counter)
    for name, status in rows:
        per_module[module_of(name)][status] += 1
    lines = [f"mutmut, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
             + (f", {int(seconds) // 60} min {int(seconds) % 60} s wall time" if seconds else ""),
             "modules: " + ", ".join(config["only_mutate"]),
             "mutants: " + ", ".join(globs),
             "tests: " + ", ".join(config["pytest_add_cli_args_test_selection"]) + " (SQLite)", "",
             "module  killed/mutants  kill-rate  (survived, no tests, timeout, not checked)  killed/judged"]
    total = collections.Counter()
    for module, counts in sorted(per_module.items()):
        total.update(counts)
        lines.append(_line(module, counts))
    lines.append(_line("ALL", total))
    lines.append("")
    lines.append("killed counts a timeout (the mutant hung the tests); survived, no tests (no selected test reaches")
    lines.append("the code), not checked and any other outcome count against the rate; judged = all but the not checked.")
    if total["not checked"]:
        lines.insert(0, f"INCOMPLETE RUN: {total['not checked']} of {sum(total.values())} mutants were not checked "
                        "(the run was stopped); killed/judged is the rate over those that were.")
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    why = reasons(out / "equivalent.txt")
    survivors = [name for name, status in rows if status not in (*KILLED, "not checked")]
    status_of = dict(rows)
    parts = [f"# {name} ({status_of[name]}): {why.get(name, 'no reason written yet')}\n{diff_of(name)}"
             for name in survivors]
    (out / "survivors.txt").write_text("\n".join(parts))
    print("\n".join(lines))


def _line(module, counts):
    killed = sum(counts[s] for s in KILLED)
    total = sum(counts.values())
    judged = total - counts["not checked"]
    rate = f"{100 * killed / total:.1f}%" if total else "-"
    judged_rate = f"{100 * killed / judged:.1f}%" if judged else "-"
    return (f"{module}  {killed}/{total}  {rate}  ({counts['survived']}, {counts['no tests']}, {counts['timeout']}, "
            f"{counts['not checked']})  {killed}/{judged} {judged_rate}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--names"]:
        print("\n".join(scope()[1]))
    else:
        main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else None)
