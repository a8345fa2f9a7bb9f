"""Opening a capture file: gzip or plain, its first bytes for sniffing, chunks of lines.

Progress is reported in bytes of the file on disk (compressed bytes for ``.gz``), so the
total is known before reading starts.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import CaptureError
from app.progress import ProgressCallback, report

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 4096
CHUNK_BYTES = 8 << 20


@dataclass
class Head:
    """The first bytes of a (decompressed) file and its first text lines, for sniffing."""

    data: bytes
    lines: list[str] = field(default_factory=list)

    @classmethod
    def from_bytes(cls, data: bytes) -> Head:
        if data.startswith(UTF8_BOM):
            data = data[len(UTF8_BOM) :]
        text = data.decode("latin-1")
        lines = text.splitlines()
        if len(data) >= HEAD_BYTES and lines:
            lines = lines[:-1]  # the last line is probably cut in the middle
        return cls(data, lines)

    def content_lines(self, limit: int = 40) -> list[str]:
        """Non-blank lines, stripped, at most ``limit``."""
        return [line.strip() for line in self.lines if line.strip()][:limit]


class Source:
    """A capture file on disk, possibly gzip-compressed (detected from its magic bytes)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.size = self.path.stat().st_size
            with open(self.path, "rb") as raw:
                self.compressed = raw.read(2) == GZIP_MAGIC
        except OSError as exc:
            raise CaptureError(self.path, f"cannot open: {exc.strerror or exc}") from exc

    def open(self) -> tuple[io.BufferedReader, io.RawIOBase | gzip.GzipFile]:
        """``(raw, stream)``: the file on disk (for progress) and the bytes to read."""
        raw = open(self.path, "rb")  # noqa: SIM115 - closed by the caller through both handles
        if self.compressed:
            return raw, gzip.GzipFile(fileobj=raw, mode="rb")
        return raw, raw

    def head(self, size: int = HEAD_BYTES) -> Head:
        raw, stream = self.open()
        try:
            data = stream.read(size)
        except (OSError, EOFError) as exc:
            raise CaptureError(self.path, f"cannot read the start of the file: {exc}") from exc
        finally:
            stream.close()
            raw.close()
        return Head.from_bytes(data)

    def read_bytes(self, progress: ProgressCallback | None = None) -> bytes:
        """The whole (decompressed) content, reporting progress per chunk."""
        parts = []
        for chunk, _ in self.line_chunks(progress, split_lines=False):
            parts.append(chunk)
        return b"".join(parts)

    def line_chunks(
        self, progress: ProgressCallback | None = None, split_lines: bool = True
    ) -> Iterator[tuple[bytes, int]]:
        """Yield ``(chunk, first_line)``: big pieces of the file that end at a line break.

        ``first_line`` is the 1-based number of the chunk's first line. A UTF-8 byte-order
        mark at the start is removed. Files that break lines with a lone CR (old Mac style)
        have their CRs turned into LFs.
        """
        raw, stream = self.open()
        try:
            line = 1
            carry = b""
            first = True
            cr_only = False
            while True:
                report(progress, raw.tell(), self.size)
                try:
                    block = stream.read(CHUNK_BYTES)
                except (OSError, EOFError, gzip.BadGzipFile) as exc:
                    raise CaptureError(self.path, f"the compressed data is damaged: {exc}") from exc
                if first:
                    if block.startswith(UTF8_BOM):
                        block = block[len(UTF8_BOM) :]
                    cr_only = b"\r" in block and b"\n" not in block
                    first = False
                if cr_only:
                    block = block.replace(b"\r", b"\n")
                if not block:
                    if carry:
                        yield carry, line
                    break
                data = carry + block
                if not split_lines:
                    yield data, line
                    carry = b""
                    continue
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                chunk, carry = data[:cut], data[cut:]
                yield chunk, line
                line += chunk.count(b"\n")
            report(progress, self.size, self.size)
        finally:
            stream.close()
            raw.close()

    def starts_with_bom(self) -> bool:
        raw, stream = self.open()
        try:
            return stream.read(3) == UTF8_BOM
        finally:
            stream.close()
            raw.close()
