#!/usr/bin/env python3
"""Checks that a PNG (as rsvg-convert writes it) is a real picture, not a blank page: decodes it
with the standard library only (zlib, PNG row filters) and requires several colours and a fair
share of non-white pixels. Usage: png_check.py FILE.png; prints what it found."""
import struct
import sys
import zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
width, height, depth, colour_type, _, _, interlace = header
assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
channels = 3 if colour_type == 2 else 4
raw = zlib.decompress(idat)
stride = width * channels
rows, previous, at = [], bytearray(stride), 0
for _ in range(height):
    kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
    at += 1 + stride
    for i in range(stride):
        left = line[i - channels] if i >= channels else 0
        up, corner = previous[i], previous[i - channels] if i >= channels else 0
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 2:
            line[i] = (line[i] + up) & 255
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 255
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
    rows.append(line)
    previous = line
pixels = [tuple(r[i:i + 3]) for r in rows for i in range(0, stride, channels)]
colours = len(set(pixels))
ink = sum(1 for p in pixels if p != (255, 255, 255)) / len(pixels)
print(f"png: {width} x {height}, {colours} colours, {ink:.1%} of the pixels not white")
assert colours >= 5, "too few colours: a blank or broken picture"
assert 0.01 <= ink <= 0.9, "nothing drawn, or nothing but ink"
