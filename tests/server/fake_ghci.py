#!/usr/bin/env python3
"""A stand-in for ``ghc`` used only by the driver's failure-path unit tests.

It speaks just enough of GHCi's interactive behaviour (banner, ``:set prompt``, ``:{``/``:}``
blocks, a prompt after each command) and misbehaves on request: a command containing
``CRASH`` exits mid-output, ``HANG`` ignores SIGINT and never answers, ``SLOW`` sleeps
until interrupted, ``FLOOD n`` writes n bytes to stdout and n to stderr, ``SPLIT`` writes
its prompt in two pieces. ``--print-libdir`` prints ``$FAKE_LIBDIR``.
"""

import os
import signal
import sys
import time


def main() -> None:
    if "--print-libdir" in sys.argv:
        print(os.environ["FAKE_LIBDIR"])
        return
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    prompt = b"ghci> "
    interrupted = False

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_sigint)
    out.write(b"GHCi, version 9.0.2: https://www.haskell.org/ghc/  :? for help\n" + prompt)
    out.flush()
    block: list[str] | None = None
    for raw in sys.stdin.buffer:
        line = raw.decode().rstrip("\n")
        if block is not None:
            if line.strip() == ":}":
                command, block = "\n".join(block), None
            else:
                block.append(line)
                continue
        elif line.strip() == ":{":
            block = []
            continue
        else:
            command = line
        if command.startswith(":set prompt "):
            literal = command[len(":set prompt ") :].strip().strip('"')
            prompt = literal.replace("\\NUL", "\0").encode()  # the one escape the server uses
        elif command.startswith(":quit"):
            return
        elif "CRASH" in command:
            out.write(b"partial output")
            out.flush()
            err.write(b"fake-ghci: crashing\n")
            err.flush()
            os._exit(3)
        elif "HANG" in command:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            time.sleep(3600)
        elif "SLOW" in command:
            interrupted = False
            while not interrupted:
                time.sleep(0.01)
            err.write(b"Interrupted.\n")
        elif command.startswith("FLOOD"):
            n = int(command.split()[1])
            out.write(b"o" * n)
            err.write(b"e" * n)
        elif "SPLIT" in command:
            out.write(b"split:" + prompt[:5])
            out.flush()
            time.sleep(0.05)
            out.write(prompt[5:])
            out.flush()
            continue
        elif command and not command.startswith(("_ <-", ":set")):
            out.write(command.encode() + b"\n")
        out.write(prompt)
        out.flush()


if __name__ == "__main__":
    main()
