"""Orchestrates bench/fswatch-1m.sh: a burst of DIRS x FILES files under a
watcher whose stdout is not read for STALL seconds (the consumer is
`sh -c 'sleep STALL; exec cat'`), with the kernel's default inotify limits.

For each watcher it prints the distinct files reported out of those
created, the watcher's CPU (user+sys, /usr/bin/time -v), CPU per event
and per file reported, its peak RSS and its RSS when the stall ends (the
largest backlog), and when the last event came.

usage: fswatch_1m.py DIRS FILES STALL TREE_BASE WORKDIR FSWATCH_JSON
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from fswatch_bench import child_pid

WRITER = r"""
import os, sys
root, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    for f in range(files):
        fd = os.open(f"{root}/d{d:04d}/f{f:05d}", os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, b"x")
        os.close(fd)
"""


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Samples the watcher's RSS every 100 ms and the output's growth."""

    def __init__(self, pid, out):
        super().__init__(daemon=True)
        self.pid, self.out = pid, out
        self.rss = []  # (time, KiB)
        self.size, self.grew = 0, time.time()
        self.stop = False

    def run(self):
        while not self.stop:
            self.rss.append((time.time(), rss_kib(self.pid)))
            size = os.path.getsize(self.out)
            if size != self.size:
                self.size, self.grew = size, time.time()
            time.sleep(0.1)

    def rss_at(self, t):
        before = [k for (s, k) in self.rss if s <= t]
        return before[-1] if before else 0


def make_tree(root, dirs):
    shutil.rmtree(root, ignore_errors=True)
    for d in range(dirs):
        os.makedirs(f"{root}/d{d:04d}")


def fswatch_files(out, root):
    """Distinct files named by fswatch-json's records, and the record count."""
    files, n = set(), 0
    with open(out, "rb") as f:
        for line in f:
            n += 1
            r = json.loads(line)
            for k in ("src_path", "dest_path"):
                p = r.get(k)
                if p and not r.get("is_directory") and p.startswith(root + "/"):
                    files.add(p)
    return files, n


def inotifywait_files(out, root):
    """Distinct files named by inotifywait's lines ("DIR/ EVENTS NAME")."""
    files, n = set(), 0
    with open(out, "rb") as f:
        for line in f:
            n += 1
            parts = line.decode(errors="replace").rstrip("\n").split(" ", 2)
            if len(parts) == 3 and "ISDIR" not in parts[1] and parts[0].startswith(root + "/"):
                files.add(parts[0] + parts[2])
    return files, n


def run(name, argv, ready, parse, root, dirs, files, stall, work):
    make_tree(root, dirs)
    os.sync()
    out, err, tim = (os.path.join(work, f"{name}.{x}") for x in ("out", "err", "time"))
    proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", tim] + argv,
                            stdout=subprocess.PIPE, stderr=open(err, "wb"))
    pid = child_pid(proc.pid)
    end = time.time() + 300
    while ready.encode() not in open(err, "rb").read():
        if time.time() > end or proc.poll() is not None:
            raise SystemExit(f"{name}: not ready; stderr: {open(err).read()}")
        time.sleep(0.02)
    sampler = Sampler(pid, out)
    open(out, "wb").close()
    # The consumer does not read for `stall` seconds from the first write.
    t0 = time.time()
    consumer = subprocess.Popen(["sh", "-c", f"sleep {stall}; exec cat"],
                                stdin=proc.stdout, stdout=open(out, "wb"))
    proc.stdout.close()
    sampler.start()
    subprocess.run([sys.executable, "-c", WRITER, root, str(dirs), str(files)], check=True)
    t_end = time.time()
    stall_end = t0 + stall
    # Done when the stall is over, the writer is done and nothing came for 10 s.
    while True:
        time.sleep(0.5)
        now = time.time()
        if now > stall_end and now - max(sampler.grew, t_end, stall_end) > 10:
            break
    last = sampler.grew
    os.kill(pid, signal.SIGINT)
    proc.wait(timeout=120)
    consumer.wait(timeout=120)
    sampler.stop = True
    sampler.join()
    t = open(tim).read()
    num = lambda k: float(re.search(re.escape(k) + r":\s*([\d.]+)", t).group(1))
    cpu = num("User time (seconds)") + num("System time (seconds)")
    peak = int(num("Maximum resident set size (kbytes)"))
    seen, events = parse(out, root)
    reported = len(seen)
    row = dict(name=name, reported=reported, events=events, cpu=cpu, peak=peak,
               rss_stall=sampler.rss_at(stall_end), writer=t_end - t0, last=last - t0,
               overflows=open(out, "rb").read().count(b'"event_type":"overflow"'))
    shutil.rmtree(root, ignore_errors=True)
    return row


def main():
    dirs, files, stall = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    base, work, fsj = sys.argv[4], sys.argv[5], sys.argv[6]
    os.makedirs(work, exist_ok=True)
    n = dirs * files
    root = os.path.join(base, "fswatch-1m-tree")
    runs = [
        ("fswatch-json", [fsj, root], "watching", fswatch_files, stall),
        ("inotifywait", ["inotifywait", "-m", "-r", root], "Watches established", inotifywait_files, stall),
        ("fswatch-json-nostall", [fsj, root], "watching", fswatch_files, 0),
    ]
    rows = []
    for name, argv, ready, parse, s in runs:
        print(f"running {name} (stall {s} s) ...", flush=True)
        rows.append(run(name, argv, ready, parse, root, dirs, files, s, work))
    print(f"\nBurst of {n} files ({dirs} dirs x {files}), consumer stalled {stall} s:")
    print(f"{'watcher':22} {'files reported':>20} {'events':>9} {'CPU s':>7} {'us/event':>9} "
          f"{'us/file':>8} {'peak RSS MB':>12} {'RSS@stall end':>14} {'writer s':>9} {'last event s':>13}")
    for r in rows:
        per_ev = r["cpu"] / r["events"] * 1e6 if r["events"] else float("nan")
        per_file = r["cpu"] / r["reported"] * 1e6 if r["reported"] else float("nan")
        print(f"{r['name']:22} {r['reported']:>9} / {n:<8} {r['events']:>9} {r['cpu']:>7.2f} {per_ev:>9.2f} "
              f"{per_file:>8.2f} {r['peak'] / 1024:>12.1f} {r['rss_stall'] / 1024:>14.1f} "
              f"{r['writer']:>9.1f} {r['last']:>13.1f}")
    ours, theirs, calm = rows[0], rows[1], rows[2]
    print("\nGoals:")
    ok = lambda b: "ok" if b else "MISSED"
    print(f"  every file reported:      {ours['reported']} of {n}"
          f" ({ours['overflows']} overflow records)  goal {n}  {ok(ours['reported'] == n)}")
    ratio = (ours["cpu"] / ours["events"]) / (theirs["cpu"] / theirs["events"])
    print(f"  CPU per event vs inotifywait: {ratio:.2f}x  goal <= 1.00x  {ok(ratio <= 1.0)}")
    ratio_f = (ours["cpu"] / ours["reported"]) / (theirs["cpu"] / max(theirs["reported"], 1))
    print(f"  CPU per file reported vs inotifywait: {ratio_f:.2f}x (inotifywait reported "
          f"{theirs['reported']} of {n})")
    print(f"  peak RSS with the {stall} s stall: {ours['peak'] / 1024:.1f} MB; without a stall: "
          f"{calm['peak'] / 1024:.1f} MB  goal: no growth with the backlog "
          f"(<= 1.1x the no-stall peak)  {ok(ours['peak'] <= 1.1 * calm['peak'])}")


if __name__ == "__main__":
    main()
