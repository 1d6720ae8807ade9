"""Counts the pixels of one exact colour in a PNG (8-bit RGB or RGBA,
non-interlaced, as Chromium's --screenshot writes), with the standard
library only. Prints: <count> <width> <height> <min_y> <max_y> of the
matching pixels (-1 for none).

Usage: png_color_count.py FILE RRGGBB
"""
import struct
import sys
import zlib


def main(path: str, hexcolor: str) -> None:
    want = bytes.fromhex(hexcolor)
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    count, miny, maxy = 0, -1, -1
    i = 0
    for y in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        prev = line
        row = bytes(line)
        n = sum(1 for x in range(0, stride, bpp) if row[x : x + 3] == want)
        if n:
            count += n
            miny = y if miny < 0 else miny
            maxy = y
    print(count, w, h, miny, maxy)


main(sys.argv[1], sys.argv[2])
