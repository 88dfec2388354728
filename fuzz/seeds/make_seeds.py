#!/usr/bin/env python3
"""Writes the hand-made seed PDFs in this directory. Run from anywhere; output is deterministic."""
import os
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def classic(objects, trailer_extra="", version="1.7"):
    """A PDF with a classic xref table. objects: list of bodies for objects 1..n (str or bytes)."""
    out = f"%PDF-{version}\n%\xe2\xe3\xcf\xd3\n".encode("latin-1")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        if isinstance(body, str):
            body = body.encode("latin-1")
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R {trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def stream(dict_extra, data):
    return f"<< /Length {len(data)} {dict_extra}>>\nstream\n".encode() + data + b"\nendstream"


CATALOG = "<< /Type /Catalog /Pages 2 0 R >>"
PAGES1 = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
CONTENT = b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET"
FONT = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"

seeds = {}

# A valid one-page PDF with an uncompressed content stream.
seeds["valid_1page.pdf"] = classic([CATALOG, PAGES1, PAGE, stream("", CONTENT), FONT])

# The same, content Flate-compressed.
z = zlib.compress(CONTENT)
seeds["flate_1page.pdf"] = classic([CATALOG, PAGES1, PAGE, stream("/Filter /FlateDecode ", z), FONT])

# Three pages in a nested page tree.
seeds["nested_3pages.pdf"] = classic([
    CATALOG,
    "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 3 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    "<< /Type /Page /Parent 6 0 R >>",
    "<< /Type /Page /Parent 6 0 R >>",
    "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R 5 0 R] /Count 2 >>",
])

# A page tree whose Kids loop back to itself.
seeds["cyclic_pages.pdf"] = classic([
    CATALOG,
    "<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
    "<< /Type /Page /Parent 2 0 R >>",
])

# No pages at all.
seeds["no_pages.pdf"] = classic([CATALOG, "<< /Type /Pages /Kids [] /Count 0 >>"])

# An /Encrypt dictionary in the trailer (Standard security handler, RC4 40-bit).
seeds["encrypted.pdf"] = classic(
    [CATALOG, PAGES1, "<< /Type /Page /Parent 2 0 R >>",
     "<< /Filter /Standard /V 1 /R 2 /O <" + "00" * 32 + "> /U <" + "00" * 32 + "> /P -4 >>"],
    trailer_extra="/Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] ",
    version="1.4",
)


def xref_stream_pdf(compress_objstm=True, compress_xref=True):
    """PDF 1.5 with an object stream holding catalog/pages/page and a cross-reference stream."""
    inner = [CATALOG.encode(), PAGES1.encode(), b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]
    header, body = b"", b""
    for num, obj in zip((1, 2, 3), inner):
        header += f"{num} {len(body)} ".encode()
        body += obj + b" "
    objstm_data = header + body
    first = len(header)
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    off4 = len(out)
    data = zlib.compress(objstm_data) if compress_objstm else objstm_data
    filt = "/Filter /FlateDecode " if compress_objstm else ""
    out += b"4 0 obj\n" + stream(f"/Type /ObjStm /N 3 /First {first} {filt}", data) + b"\nendobj\n"
    off5 = len(out)
    # Entries for objects 0..5, /W [1 4 2].
    rows = [(0, 0, 65535), (2, 4, 0), (2, 4, 1), (2, 4, 2), (1, off4, 0), (1, off5, 0)]
    raw = b"".join(t.to_bytes(1, "big") + f.to_bytes(4, "big") + g.to_bytes(2, "big") for t, f, g in rows)
    xdata = zlib.compress(raw) if compress_xref else raw
    xfilt = "/Filter /FlateDecode " if compress_xref else ""
    out += b"5 0 obj\n" + stream(f"/Type /XRef /Size 6 /W [1 4 2] /Index [0 6] /Root 1 0 R {xfilt}", xdata) + b"\nendobj\n"
    out += f"startxref\n{off5}\n%%EOF\n".encode()
    return out


seeds["xref_stream.pdf"] = xref_stream_pdf()
seeds["xref_stream_raw.pdf"] = xref_stream_pdf(compress_objstm=False, compress_xref=False)

# An incremental update: a second xref section with /Prev pointing at the first.
base = seeds["valid_1page.pdf"]
prev = int(base.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
off6 = len(base)
upd = base + b"6 0 obj\n<< /Title (Updated) >>\nendobj\n"
x2 = len(upd)
upd += f"xref\n0 1\n0000000000 65535 f \n6 1\n{off6:010} 00000 n \ntrailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R /Prev {prev} >>\nstartxref\n{x2}\n%%EOF\n".encode()
seeds["incremental_prev.pdf"] = upd

# A /Prev chain that points at itself.
loop = seeds["valid_1page.pdf"].replace(b"/Root 1 0 R ", f"/Root 1 0 R /Prev {prev} ".encode())
seeds["prev_loop.pdf"] = loop

# Truncated files: cut in the middle of the body and just before the trailer.
v = seeds["valid_1page.pdf"]
seeds["truncated_body.pdf"] = v[: len(v) // 2]
seeds["truncated_trailer.pdf"] = v[: v.index(b"trailer")]

# Broken xref offsets (lopdf must fall back to scanning or refuse).
seeds["bad_xref_offsets.pdf"] = v.replace(b" 00000 n ", b" 00000 n ").replace(b"0000000015", b"0000009999")
seeds["bad_startxref.pdf"] = v[: v.rindex(b"startxref")] + b"startxref\n999999\n%%EOF\n"

# A header after junk (allowed within the first 1024 bytes).
seeds["junk_prefix.pdf"] = b"JUNK" * 100 + v

for name, data in seeds.items():
    assert len(data) < 10 * 1024, name
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")
