"""Orchestrates bench/fim.sh: CPU per event of file-integrity watching.

N files exist; each is then rewritten, chmod-ed and read (three changes a
file, 3N in all) under each watcher in turn, and each is stopped once its
output has been quiet for 5 s. Printed: events reported, CPU seconds, CPU
per event and peak RSS, for inotifywait (no hashes, no baseline: the floor)
and for fswatch-json as today's FIM pipelines run it, with the metadata
baseline (--attrs all: ACLs and extended attributes read), and with
attribution (--who, root only).

usage: fim_bench.py N WORKDIR FSWATCH_JSON
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fswatch_bench import Run, tree_base  # noqa: E402


def workload(d, n):
    for i in range(n):
        p = os.path.join(d, f"f{i:06d}")
        with open(p, "w") as f:
            f.write(f"changed {i}\n")
        os.chmod(p, 0o600)
        with open(p) as f:
            f.read()


def main():
    n, work, fsj = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    fim = [fsj, "--access", "--hash", "--only-content-changes", "--debounce", "100ms"]
    runs = [
        ("inotifywait", ["inotifywait", "-m", "-r", "-e", "modify,attrib,close_write,close_nowrite", "TREE"],
         "Watches established", "\n"),
        ("fswatch-json --attrs none", fim + ["--attrs", "none", "TREE"], "watching", "\n"),
        ("fswatch-json (metadata)", fim + ["TREE"], "watching", "\n"),
    ]
    if os.geteuid() == 0:
        runs.append(("fswatch-json --who", fim + ["--who", "TREE"], "watching", "\n"))
    rows = []
    for name, argv, ready, marker in runs:
        d = os.path.join(tree_base(work), "fim-bench-tree")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for i in range(n):
            with open(os.path.join(d, f"f{i:06d}"), "w") as f:
                f.write(f"initial {i}\n")
            os.chmod(os.path.join(d, f"f{i:06d}"), 0o644)
        r = Run(name.replace(" ", "_"), [d if a == "TREE" else a for a in argv], ready, marker, work)
        r.wait_ready()
        workload(d, n)
        last, last_t = -1, time.time()
        while time.time() - last_t < 5.0:
            time.sleep(0.1)
            if r.poll() != last:
                last, last_t = r.count, time.time()
        cpu, rss = r.stop()
        rows.append((name, r.count, cpu, rss))
        shutil.rmtree(d, ignore_errors=True)
    print(f"\n{n} files, each rewritten, chmod-ed and read ({3 * n} changes):")
    print(f"{'watcher':28} {'events':>8} {'CPU s':>7} {'CPU us/event':>13} {'peak RSS KB':>12}")
    for name, cnt, cpu, rss in rows:
        per = cpu / cnt * 1e6 if cnt else float("nan")
        print(f"{name:28} {cnt:>8} {cpu:>7.2f} {per:>13.1f} {rss:>12}")
    base = rows[0]
    for name, cnt, cpu, _ in rows[1:]:
        if cnt and base[1]:
            print(f"CPU per event, {name} / inotifywait: {(cpu / cnt) / (base[2] / base[1]):.2f}x")
    print("(inotifywait reports every raw event and computes nothing; fswatch-json hashes each"
          " changed file, checks metadata and, with --who, reads fanotify and /proc)")


main()
