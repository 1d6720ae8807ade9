"""Python watchdog as a comparison watcher for bench/fswatch.sh.

Prints one line per event ("created PATH", ...) to stdout, "ready" on
stderr once the observer is running, stops on SIGINT/SIGTERM.
"""
import signal
import sys
import threading

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer


class Printer(FileSystemEventHandler):
    def on_any_event(self, event):
        sys.stdout.write(f"{event.event_type} {event.src_path}\n")


def main():
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    obs = Observer()
    obs.schedule(Printer(), sys.argv[1], recursive=True)
    obs.start()
    sys.stderr.write("ready\n")
    sys.stderr.flush()
    stop.wait()
    obs.stop()
    obs.join()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
