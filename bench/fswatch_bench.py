"""Orchestrates bench/fswatch.sh: runs each watcher under /usr/bin/time -v,
creates N files in a burst, and measures events reported, CPU seconds,
peak RSS and the time from the first write to the last event seen.

usage: fswatch_bench.py N WORKDIR FSWATCH_JSON PYTHON
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time


def child_pid(pid):
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.01)
    return None


class Run:
    def __init__(self, name, argv, ready, marker, work):
        self.name, self.ready, self.marker = name, ready, marker
        self.out = os.path.join(work, f"{name}.out")
        self.err = os.path.join(work, f"{name}.err")
        self.tim = os.path.join(work, f"{name}.time")
        self.proc = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", self.tim] + argv,
            stdout=open(self.out, "wb"), stderr=open(self.err, "wb"))
        self.pid = child_pid(self.proc.pid)
        self.pos = 0
        self.count = 0

    def wait_ready(self, timeout=600):
        end = time.time() + timeout
        while time.time() < end:
            with open(self.err, "rb") as f:
                if self.ready.encode() in f.read():
                    return True
            time.sleep(0.02)
        raise SystemExit(f"{self.name}: not ready; stderr: {open(self.err).read()}")

    def poll(self):
        with open(self.out, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.pos += cut
        self.count += data[:cut].count(self.marker.encode())
        return self.count

    def stop(self):
        if self.pid:
            os.kill(self.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait()
        self.poll()
        t = open(self.tim).read()
        num = lambda k: float(re.search(re.escape(k) + r":\s*([\d.]+)", t).group(1))
        return num("User time (seconds)") + num("System time (seconds)"), int(num("Maximum resident set size (kbytes)"))


def tree_base(work):
    """Where the watched trees go: tmpfs when available, so the figures
    measure the watchers rather than the disk's journal (override with
    FSWATCH_BENCH_TREE)."""
    base = os.environ.get("FSWATCH_BENCH_TREE")
    if base:
        return base
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else work


def burst(d, n):
    t0 = time.time()
    for i in range(n):
        fd = os.open(os.path.join(d, f"f{i:07d}"), os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, b"x")
        os.close(fd)
    return t0, time.time()


def watchers(d, fsj, py):
    here = os.path.dirname(os.path.abspath(__file__))
    return [
        ("fswatch-json", [fsj, d], "watching", '"event_type":"created"'),
        ("inotifywait", ["inotifywait", "-m", "-r", d], "Watches established", " CREATE "),
        ("watchdog", [py, os.path.join(here, "fswatch_watchdog.py"), d], "ready", "created "),
    ]


def bench_burst(n, work, fsj, py):
    rows = []
    trees = []
    for name, argv, ready, marker in watchers("TREE", fsj, py):
        # A fresh directory per watcher, and no deletion until the end: removing
        # 100k files just before a burst slows the next writer several-fold.
        d = os.path.join(tree_base(work), f"fswatch-bench-tree-{name}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        trees.append(d)
        os.sync()
        argv = [d if a == "TREE" else a for a in argv]
        r = Run(name, argv, ready, marker, work)
        r.wait_ready()
        t0, t_end = burst(d, n)
        last, last_t = 0, time.time()
        while r.count < n and time.time() - last_t < 5.0:
            time.sleep(0.02)
            if r.poll() != last:
                last, last_t = r.count, time.time()
        last_t = max(last_t, t_end) if r.count else last_t
        cpu, rss = r.stop()
        rows.append((name, r.count, cpu, rss, last_t - t0, t_end - t0))
    for d in trees:
        shutil.rmtree(d, ignore_errors=True)
    print(f"\nBurst of {n} files:")
    print(f"{'watcher':14} {'created events':>16} {'CPU s':>7} {'CPU us/event':>13} {'peak RSS KB':>12} {'writer s':>9} {'first write->last event s':>26}")
    for name, cnt, cpu, rss, lat, wr in rows:
        per = cpu / cnt * 1e6 if cnt else float("nan")
        print(f"{name:14} {cnt:>9} / {n:<6} {cpu:>7.2f} {per:>13.1f} {rss:>12} {wr:>9.2f} {lat:>26.2f}")
    print("(time to last event is sampled every 20 ms; inotifywait and the watchdog script write block-buffered output)")
    base = {r[0]: r for r in rows}
    if base["inotifywait"][1] and base["fswatch-json"][1]:
        ours = base["fswatch-json"][2] / base["fswatch-json"][1]
        theirs = base["inotifywait"][2] / base["inotifywait"][1]
        print(f"CPU per event, fswatch-json / inotifywait: {ours / theirs:.2f}x (goal <= 1.5x)")


def bench_dirs(ndirs, work, fsj, py):
    d = os.path.join(tree_base(work), "fswatch-bench-dirs")
    shutil.rmtree(d, ignore_errors=True)
    side = int(ndirs ** 0.5)
    for i in range(side):
        for j in range(ndirs // side):
            os.makedirs(os.path.join(d, f"d{i:03d}", f"e{j:03d}"))
    total = sum(1 for _ in os.walk(d))
    print(f"\nIdle watch of {total} directories:")
    print(f"{'watcher':14} {'peak RSS KB':>12} {'start s':>8} {'event ok':>9}")
    for name, argv, ready, marker in watchers(d, fsj, py):
        t0 = time.time()
        r = Run(name + "-dirs", argv, ready, marker, work)
        r.wait_ready()
        start = time.time() - t0
        probe = os.path.join(d, f"d{side - 1:03d}", f"e{ndirs // side - 1:03d}", "probe")
        open(probe, "w").close()
        end = time.time() + 10
        while r.poll() < 1 and time.time() < end:
            time.sleep(0.02)
        ok = r.count >= 1
        os.unlink(probe)
        cpu, rss = r.stop()
        print(f"{name:14} {rss:>12} {start:>8.2f} {str(ok):>9}")
    shutil.rmtree(d, ignore_errors=True)


def main():
    n, work, fsj, py = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    os.makedirs(work, exist_ok=True)
    bench_burst(n, work, fsj, py)
    bench_dirs(10_000, work, fsj, py)


if __name__ == "__main__":
    main()
