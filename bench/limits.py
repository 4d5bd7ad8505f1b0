#!/usr/bin/env python3
"""The machine's limits beside the checkout figures, measured in the folder where the benchmark's databases live.

Usage: limits.py DIR SECONDS

Prints one JSON line:
  fsync_per_s           4 KiB appended to a file, then fsync, in a loop (what one durable commit costs at least);
  sqlite_commits_per_s  a minimal SQLite transaction, committed durably: WAL, synchronous = FULL, one connection,
                        8 small inserts per transaction (Python's sqlite3 module, the SQLite of the system), in a loop.
Both run for SECONDS each, alone (nothing else of the benchmark runs meanwhile).
"""
import json
import os
import sqlite3
import sys
import time


def fsync_rate(folder, seconds):
    path = os.path.join(folder, "limits-fsync.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    block = os.urandom(4096)
    n = 0
    try:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            os.write(fd, block)
            os.fsync(fd)
            n += 1
        elapsed = time.monotonic() - start
    finally:
        os.close(fd)
        os.unlink(path)
    return n / elapsed


def sqlite_rate(folder, seconds):
    path = os.path.join(folder, "limits-sqlite.db")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER NOT NULL)")
        n = 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            db.execute("BEGIN")
            for i in range(8):
                db.execute("INSERT INTO t (a, b) VALUES (?, ?)", ("order line", i))
            db.execute("COMMIT")
            n += 1
        elapsed = time.monotonic() - start
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    return n / elapsed


def main():
    folder, seconds = sys.argv[1], float(sys.argv[2])
    os.makedirs(folder, exist_ok=True)
    result = {
        "kind": "limits",
        "seconds_each": seconds,
        "fsync_per_s": round(fsync_rate(folder, seconds), 1),
        "sqlite_commits_per_s": round(sqlite_rate(folder, seconds), 1),
        "sqlite_version": sqlite3.sqlite_version,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
