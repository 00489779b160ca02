"""Which files a run reads: glob the folder, leave out what is still being written, what a previous
run already processed (``after: keep``), and order the rest oldest first."""

from __future__ import annotations

import asyncio
import posixpath
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.fs import DirEntry, FileInfo, FileSystem, join
from openconnector.connectors.memory import Memory

_MAGIC = set("*?[")


@dataclass
class Listing:
    files: dict[str, FileInfo] = field(default_factory=dict)  # the glob's matches
    present: set[str] = field(default_factory=set)  # every file in the folders listed (done markers)


async def glob(fs: FileSystem, pattern: str, *, skip_dirs: set[str], ignore: list[str]) -> Listing:
    """Files matching ``pattern`` (``*``, ``?``, ``[..]`` within a name, ``**`` for any folders).

    Folders in ``skip_dirs`` (the processed and failed folders) and names matching ``ignore`` are
    never entered. Folders are listed lazily and at most once, so a literal prefix (``in/2024/*.csv``)
    costs one listing per level and a remote server is not walked more than needed.
    """
    segs = pattern.split("/")
    if segs[-1] == "**":
        segs.append("*")
    listing = Listing()
    cache: dict[str, list[DirEntry] | None] = {}

    def ignored(name: str) -> bool:
        return any(fnmatchcase(name, p) for p in ignore)

    async def entries(folder: str) -> list[DirEntry] | None:
        if folder not in cache:
            try:
                found: list[DirEntry] | None = await fs.listdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                if not folder:
                    raise ConnectorError(f"the folder {fs.label} does not exist") from None
                found = None
            cache[folder] = found
            for e in found or ():
                if not e.is_dir:
                    listing.present.add(join(folder, e.name))
        return cache[folder]

    def enter(folder: str, e: DirEntry) -> bool:
        return e.is_dir and not ignored(e.name) and join(folder, e.name) not in skip_dirs

    async def walk(folder: str, i: int) -> None:
        seg = segs[i]
        last = i == len(segs) - 1
        if not last and seg != "**" and not _MAGIC & set(seg):
            child = join(folder, seg)
            if child not in skip_dirs:
                await walk(child, i + 1)
            return
        ents = await entries(folder)
        if ents is None:
            return
        if seg == "**":
            await walk(folder, i + 1)  # zero folders
            for e in ents:
                if enter(folder, e):
                    await walk(join(folder, e.name), i)
            return
        for e in ents:
            if last:
                if not e.is_dir and fnmatchcase(e.name, seg) and not ignored(e.name):
                    path = join(folder, e.name)
                    listing.files[path] = FileInfo(path, e.size, e.mtime)
            elif fnmatchcase(e.name, seg) and enter(folder, e):
                await walk(join(folder, e.name), i + 1)

    await entries("")  # a wrong location is an error, not "no files"
    await walk("", 0)
    return listing


def skip_dirs(read: FileRead) -> set[str]:
    return {posixpath.normpath(d) for d in (read.processed_dir, read.failed_dir) if not d.startswith("/")}


@dataclass
class Selection:
    ready: list[FileInfo]
    #: files a keep-run saw before with another mtime but the same size: read only if the hash differs
    recheck: set[str]
    known: int  # skipped: processed on an earlier run (after: keep)
    waiting: int  # skipped: still being written / no done marker yet
    more: int  # left for the next run by max_files


def remembered(ctx: ReadContext) -> Memory:
    """``after: keep``'s memory: path → ``{"size", "mtime", "sha256"}`` of each processed file.

    Stores made before migration 0004 kept it in the state document (``state["files"]``); it moves
    into the keyed memory here, and the engine stores both changes with the run's next commit.
    """
    legacy = ctx.state.pop("files", None)
    if isinstance(legacy, dict):
        for path, entry in legacy.items():
            if path not in ctx.memory:
                ctx.memory[path] = entry
    return ctx.memory


async def select(fs: FileSystem, read: FileRead, ctx: ReadContext) -> Selection:
    dirs = skip_dirs(read)
    listing = await glob(fs, read.path, skip_dirs=dirs, ignore=read.ignore)
    marker = read.done_marker
    candidates = [f for f in listing.files.values() if not (marker and f.path.endswith(marker))]

    known = 0
    recheck: set[str] = set()
    if read.after == "keep":
        memory = remembered(ctx)
        for gone in [p for p in memory if p not in listing.files]:  # forget files no longer there
            del memory[gone]
        if not ctx.full:
            fresh = []
            for f in candidates:
                seen = memory.get(f.path)
                if seen and seen.get("size") == f.size and seen.get("mtime") == f.mtime:
                    known += 1
                    continue
                if seen and seen.get("size") == f.size:
                    recheck.add(f.path)  # touched, maybe not changed: the content hash decides
                fresh.append(f)
            candidates = fresh

    waiting = 0
    if marker:
        ready = [f for f in candidates if f.path + marker in listing.present]
        waiting = len(candidates) - len(ready)
    elif read.stable_seconds > 0 and candidates:
        await asyncio.sleep(read.stable_seconds)
        again = await glob(fs, read.path, skip_dirs=dirs, ignore=read.ignore)
        ready = [f for f in candidates if again.files.get(f.path) == f]
        waiting = len(candidates) - len(ready)
    else:
        ready = candidates
    if waiting:
        ctx.log.info("%s: %d file(s) still being written; they are read on a later run", fs.label, waiting)

    ready.sort(key=lambda f: (f.mtime, f.path))
    more = 0
    if read.max_files is not None and len(ready) > read.max_files:
        more = len(ready) - read.max_files
        ready = ready[: read.max_files]
    return Selection(ready, recheck, known, waiting, more)
