"""A folder on the local disk (or a mounted share) as a :class:`~.fs.FileSystem`."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from openconnector.connectors.files.fs import DirEntry, FileInfo, FileSystem, OpenedFile


class LocalOpenedFile(OpenedFile):
    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh

    def read(self, size: int = -1, /) -> bytes:
        return self._fh.read(size)

    async def aclose(self) -> None:
        self._fh.close()


class LocalFileSystem(FileSystem):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()
        self.label = str(self.root)

    def _p(self, path: str) -> Path:
        return Path(path) if path.startswith("/") else self.root / path

    async def listdir(self, path: str) -> list[DirEntry]:
        return await asyncio.to_thread(self._listdir, self._p(path))

    @staticmethod
    def _listdir(folder: Path) -> list[DirEntry]:
        out = []
        with os.scandir(folder) as it:
            for e in it:
                try:
                    st = e.stat()
                    is_dir = e.is_dir()
                except FileNotFoundError:  # removed while we listed
                    continue
                out.append(DirEntry(e.name, is_dir, st.st_size, st.st_mtime))
        return out

    async def stat(self, path: str) -> FileInfo | None:
        try:
            st = await asyncio.to_thread(os.stat, self._p(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return FileInfo(path, st.st_size, st.st_mtime)

    async def open(self, info: FileInfo) -> OpenedFile:
        fh = await asyncio.to_thread(open, self._p(info.path), "rb")
        return LocalOpenedFile(fh)

    async def rename(self, src: str, dst: str) -> None:
        # shutil.move: a processed_dir on another mount cannot be reached by rename(2)
        await asyncio.to_thread(shutil.move, self._p(src), self._p(dst))

    async def remove(self, path: str) -> None:
        await asyncio.to_thread(os.remove, self._p(path))

    async def makedirs(self, path: str) -> None:
        await asyncio.to_thread(os.makedirs, self._p(path), exist_ok=True)
