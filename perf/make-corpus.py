#!/usr/bin/env python3
"""Writes the tokenizer benchmark's English corpus: exactly 1 MiB of fortunes.

Source: Debian's `fortunes` package (/usr/share/games/fortunes): about 2.5 MB
of real, varied English prose (jokes, quotations, definitions, poems, Star
Trek, Pratchett, ...). The corpus takes the fortunes round-robin across the
files in name order (first fortune of each file, then the second of each,
...), so every file contributes and no text repeats. ascii-art is left out
(pictures, not prose). Fortunes are separated by a blank line; the text is cut
at 1,048,576 bytes (backed off to a UTF-8 character boundary and padded with
newlines). Deterministic: the same package version gives the same bytes.

Usage: perf/make-corpus.py OUTPUT [FORTUNES_DIR]
"""
import os
import sys

SIZE = 1 << 20
SKIP = {"ascii-art"}


def fortunes_of(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    entries = []
    for entry in text.split("\n%\n"):
        entry = entry.strip("\n")
        if entry and entry != "%":
            entries.append(entry)
    return entries


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make-corpus.py OUTPUT [FORTUNES_DIR]")
    out_path = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/games/fortunes"
    names = sorted(n for n in os.listdir(root)
                   if not n.endswith((".dat", ".u8")) and n not in SKIP
                   and os.path.isfile(os.path.join(root, n)) and not os.path.islink(os.path.join(root, n)))
    if not names:
        sys.exit(f"make-corpus: no fortune files under {root} (apt-get install fortunes)")
    files = [fortunes_of(os.path.join(root, n)) for n in names]
    pieces, size = [], 0
    for k in range(max(len(f) for f in files)):
        for entries in files:
            if k < len(entries):
                piece = (entries[k] + "\n\n").encode("utf-8")
                pieces.append(piece)
                size += len(piece)
        if size >= SIZE:
            break
    corpus = b"".join(pieces)
    if len(corpus) < SIZE:
        sys.exit(f"make-corpus: only {len(corpus)} bytes of fortunes under {root}")
    cut = SIZE
    while cut > 0 and (corpus[cut] & 0xC0) == 0x80:  # do not split a character
        cut -= 1
    corpus = corpus[:cut] + b"\n" * (SIZE - cut)
    with open(out_path, "wb") as f:
        f.write(corpus)


if __name__ == "__main__":
    main()
