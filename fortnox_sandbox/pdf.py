"""A minimal PDF writer: one A4 page of Helvetica text, enough for a printable order/invoice.

Fortnox's ``…/print`` and ``…/preview`` return a PDF (FACTS.md §4, §5). The sandbox writes a
small valid PDF 1.4 itself (no library): catalog, pages, one page, a Type1 font with
WinAnsiEncoding (covers å, ä, ö) and one content stream, with a correct xref table.
"""

from __future__ import annotations

from collections.abc import Iterable


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def render_pdf(title: str, lines: Iterable[str]) -> bytes:
    """A one-page PDF with ``title`` in bold-sized text followed by ``lines`` (cut to fit)."""
    ops = [b"BT", b"/F1 16 Tf", b"50 790 Td", b"(" + _escape(title) + b") Tj", b"/F1 10 Tf"]
    for line in list(lines)[:60]:
        ops += [b"0 -13 Td", b"(" + _escape(line[:110]) + b") Tj"]
    ops.append(b"ET")
    content = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out += trailer.encode()
    return bytes(out)
