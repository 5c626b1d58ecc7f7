"""Store stage, cache: content hashes of inputs and cached derived objects (parsed frames, indexes).

Large derived objects live as files in ``<home>/cache``, named from the ``cache`` table (a BLOB
would be limited to 1 GB and copied through SQLite).  Nothing read back can run code: a frame is
an Arrow IPC (Feather) file with JSON metadata, an index an ``.arrays`` file of plain numeric
numpy arrays — a JSON table of contents, then each array's raw bytes — which is memory-mapped, so
reopening a large index reads only the pages a search touches.  A ``cache.file`` naming anything
but a plain file of that folder (an absolute path, ``..``, a separator) is a miss, as is a file of
the wrong kind or size, or one whose table of contents does not fit the file.

Cache writes are optional: any failure (a full disk, a value that does not serialise) leaves the
previous state and no partial file behind, and the load goes on.  Files are written to a
``*.tmp`` name and renamed into place; ``*.tmp`` files of processes that died mid-write are
removed when a store opens.  Cache files are not fsynced: a torn file is caught as a miss, and
inside :meth:`CacheStore.cache_batch` the rows of many files are committed in one transaction.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import json
import mmap
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa  # already imported by pandas, whose strings it holds
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray

from paper_widgets.data.packed import no_strings, one_array
from paper_widgets.data.records import LIST_DTYPE, empty_lists, python_lists
from paper_widgets.data.spans import SETTLED_NS, file_signature
from paper_widgets.store.db import Database
from paper_widgets.store.texts import CompressedTexts, compressed_texts, held, narrowed, texts_of

__all__ = [
    "CacheStore",
    "content_hash",
    "file_hash",
    "gc_paused",
    "package_fingerprint",
    "shown_column",
    "shown_frame",
]

_T = TypeVar("_T")
_Write = Callable[[sqlite3.Connection], list[str]]  # a cache row written in a transaction: the files it replaces
_FRAME, _ARRAYS = ".arrow", ".arrays"
_ARRAYS_MAGIC = b"PWARRAYS1\n"  # then the table of contents' length (8 bytes, little-endian) and the JSON
_ALIGN = 64  # every array starts at a multiple of this: aligned numpy views of the mapped file
_META = "paper_widgets"  # Arrow schema metadata key of the JSON the caller attached
# Whole numbers read with arrow_lists=True stay Arrow, 32-bit where _write_frame narrowed them
# (memory-mapped, no copy and no mask made at a reopen); shown_column gives them back as pandas' Int64.
_ARROW_INTS = {pa.int64(): pd.ArrowDtype(pa.int64()), pa.int32(): pd.ArrowDtype(pa.int32())}
_STALE_AFTER = 24 * 3600  # seconds after which a .tmp file is left over whoever wrote it


def file_hash(path: str | os.PathLike[str]) -> str:
    """Content hash (SHA-256) of a file, the cache key for anything derived from it."""
    # SHA-256, not BLAKE2b: CPUs with SHA extensions (x86 since 2017-2019, ARMv8) hash ~1.7 GB/s,
    # BLAKE2b ~0.65 GB/s, and a cold load of a million papers hashes 1.5 GB of dumps first.
    # (hashlib.file_digest is Python 3.11+; this loop is the same hash.)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def content_hash(*parts: str) -> str:
    """One hash of several strings (file hashes, names, versions): a cache key for their combination."""
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


@functools.cache
def package_fingerprint() -> str:
    """Hash of paper_widgets' own source: any code change (an upgrade) invalidates cached results."""
    package = Path(__file__).resolve().parent.parent
    sources = sorted(package.rglob("*.py"))
    return content_hash(*(f"{p.relative_to(package)}:{file_hash(p)}" for p in sources))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while allocating millions of containers (building them is 3x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- file formats that cannot run code ---------------------------------------------------------------


def _write_frame(
    path: Path, frame: pd.DataFrame, meta: object, compressed: bool = False, texts: Sequence[str] = ()
) -> None:
    """``frame`` as an Arrow IPC file; object columns of lists of strings as Arrow lists (their strings
    dictionary-encoded when few are distinct: :func:`_few_distinct`), others as JSON text.

    ``compressed``: zstd, a third of the size, for frames read whole and seldom (it cannot be memory-mapped).
    ``texts``: columns left out (stored on their own, see :meth:`CacheStore.cache_put_frame`); the
    file still says where they go.  String columns without a value (a dump library's DOIs, venues,
    URLs: an eighth of the file at a million rows, as offsets) are stored as Arrow nulls, no bytes,
    and so are columns of lists that are all empty (a dump library's authors and citekeys) and JSON
    columns of None alone (its BibTeX fields): 4 MB each at a million rows.
    """
    import pyarrow.feather as feather

    lists, encoded, empty, no_items = [], [], [], []
    columns: dict[str, Any] = {}
    for name in frame.columns.drop(list(texts)):
        column = frame[name]
        if isinstance(column.dtype, pd.StringDtype) and len(column) and column.isna().all():
            columns[name] = pa.nulls(len(column))
            empty.append(name)
            continue
        if isinstance(column.dtype, pd.ArrowDtype) and column.dtype.type is list:  # as cache_get_frame gave it
            columns[name] = _few_distinct(column.array.__arrow_array__())
            lists.append(name)
            no_items += _unless_items(columns, name)
            continue
        if column.dtype != object:
            columns[name] = column
            continue
        values = column.tolist()
        try:
            if not all(type(v) is list for v in values):  # a str would pass as a list of characters
                raise TypeError(f"{name} is not a column of lists")
            columns[name] = _few_distinct(pa.array(values, type=LIST_DTYPE.pyarrow_dtype))
            lists.append(name)
            no_items += _unless_items(columns, name)
        except (pa.ArrowException, TypeError, ValueError):  # anything else round-trips through JSON
            # None as an Arrow null: most cells of a column like BibTeX fields, read back without a parse
            json_texts = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
            held = any(text is not None for text in json_texts)
            columns[name] = pa.array(json_texts, type=pa.string()) if held else pa.nulls(len(values))
            encoded.append(name)
    plain = pd.DataFrame({n: c for n, c in columns.items() if n not in lists + encoded + empty}, index=frame.index)
    # a RangeIndex (a library's) is kept as metadata, not as a column read back at every reopen
    table = pa.Table.from_pandas(plain, preserve_index=None)
    # zstd packs 64-bit whole numbers better than 32-bit ones (4 % of a file's records smaller): only
    # memory-mapped frames are narrowed
    table, narrowed = (table, []) if compressed else _narrowed_ints(table)
    for name in lists + encoded + empty:
        table = table.append_column(name, columns[name])
    order = [str(c) for c in frame.columns]
    info = {
        "meta": meta,
        "lists": lists,
        "json": encoded,
        "empty": empty,
        "texts": list(texts),
        "order": order,
        "narrowed": narrowed,
        "no_items": no_items,
    }
    schema_meta = {**(table.schema.metadata or {}), _META.encode(): json.dumps(info).encode()}
    table = table.replace_schema_metadata(schema_meta)
    # one record batch: pandas' take on a string column in several chunks costs ~1000x more
    # zstd level 1: a third of the size at the speed of an uncompressed write (level 3 takes twice as long)
    compression, level = ("zstd", 1) if compressed else ("uncompressed", None)
    feather.write_feather(
        table, str(path), compression=compression, compression_level=level, chunksize=max(len(table), 1)
    )


def _narrowed_ints(table: pa.Table) -> tuple[pa.Table, list[str]]:
    """``table`` with its 64-bit whole-number columns in 32 bits where every value fits (a million
    papers' upvotes, comments and author counts: 12 MB less), and the names of those columns."""
    narrowed = []
    for i, field in enumerate(table.schema):
        if field.type != pa.int64() or not len(table):
            continue
        column = table.column(i)
        bounds = pc.min_max(column).as_py()
        if bounds["min"] is None or (bounds["min"] >= -(1 << 31) and bounds["max"] < 1 << 31):
            table = table.set_column(i, field.name, pc.cast(column, pa.int32()))
            narrowed.append(field.name)
    return table, narrowed


def _unless_items(columns: dict[str, Any], name: str) -> list[str]:
    """``[name]``, its column replaced by Arrow nulls, when the lists of ``columns[name]`` are all empty; else []."""
    lists = one_array(columns[name])
    if not len(lists) or lists.null_count or len(lists.flatten()):
        return []
    columns[name] = pa.nulls(len(lists))
    return [name]


def _few_distinct(lists: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``lists`` (of strings) with their strings dictionary-encoded when at most half are distinct.

    A library's ``sources`` repeat one file path per row (~50 bytes; a sixth of the paper table at
    a million rows): as indices into the few paths they take 4 bytes, still memory-mapped, and
    read back as the same Python strings.  Lists encoded already (a reopened frame) stay as they are.
    """
    lists = one_array(lists)
    if not pa.types.is_list(lists.type) or pa.types.is_dictionary(lists.type.value_type):
        return lists
    strings = lists.flatten()
    encoded = strings.dictionary_encode()
    if 2 * len(encoded.dictionary) > len(strings):
        return lists
    starts = pc.subtract(lists.offsets, lists.offsets[0])  # a slice's offsets need not start at 0
    return pa.ListArray.from_arrays(starts, encoded, mask=lists.is_null() if lists.null_count else None)


def _read_frame(path: Path, arrow_lists: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame and JSON info of :func:`_write_frame` (``meta``: the caller's metadata, ``texts``:
    the columns stored apart, missing from the frame); strings stay in the (memory-mapped) file.

    ``arrow_lists``: list columns as Arrow lists (:data:`~paper_widgets.data.records.LIST_DTYPE`, or of
    dictionary-encoded strings: no Python list per cell until one is read), else object columns of
    lists as they were written.
    """
    import pyarrow.feather as feather

    table = feather.read_table(str(path), memory_map=True)
    if any(column.num_chunks > 1 for column in table.columns):  # combine_chunks copies even a single chunk
        table = table.combine_chunks()
    info = json.loads(table.schema.metadata[_META.encode()])
    empty = info.get("empty", [])
    special = info["lists"] + info["json"] + empty
    narrowed = info.get("narrowed", [])  # none in files written before whole numbers were narrowed
    for name in info.get("no_items", []):  # lists all empty, stored as nulls: read as any list column
        table = table.set_column(table.schema.get_field_index(name), name, empty_lists(len(table)))
    mapper = _ARROW_INTS.get if arrow_lists else None
    if not arrow_lists:  # as they were written: pandas' metadata names their dtype
        for name in narrowed:
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pc.cast(table.column(i), pa.int64()))
    frame = table.drop_columns(special).to_pandas(types_mapper=mapper)
    for name in info["lists"]:
        if arrow_lists:  # as the file holds it (combine_chunks would copy it even in one chunk)
            frame[name] = pd.Series(pd.arrays.ArrowExtensionArray(table.column(name)), index=frame.index)
            continue
        chunked = table.column(name).combine_chunks()
        values = chunked.flatten().to_numpy(zero_copy_only=False).tolist()
        offsets = chunked.offsets.to_numpy().tolist()
        cells = np.empty(len(chunked), dtype=object)
        cells[:] = [values[a:b] for a, b in itertools.pairwise(offsets)]
        frame[name] = pd.Series(cells, index=frame.index, dtype=object)
    for name in info["json"]:
        cells = np.full(len(table), None, dtype=object)
        # Only the cells that hold a value: most are null (BibTeX fields of papers from dumps), and a
        # Python None per row of a million cost a reopen a sixth of its time.
        column = table.column(name)
        present = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
        decoded = np.empty(len(present), dtype=object)
        # "null": the JSON of None in files written before nulls were Arrow nulls
        decoded[:] = [None if v == "null" else json.loads(v) for v in column.take(present).to_pylist()]
        cells[present] = decoded
        frame[name] = pd.Series(cells, index=frame.index, dtype=object)  # not inferred as str
    for name in empty:
        frame[name] = pd.Series(no_strings(len(table)), index=frame.index)
    texts = info.get("texts", [])
    return frame[[name for name in info["order"] if name not in texts]], info


def shown_column(array: ExtensionArray) -> Any:
    """``array`` as ``lib.df`` shows a column: Arrow lists as Python lists (a fresh list per cell), Arrow
    whole numbers as ``Int64``, compressed texts decompressed; any other array as it is."""
    dtype = array.dtype
    if isinstance(dtype, pd.ArrowDtype) and dtype.type is list:
        return python_lists(array)
    if isinstance(dtype, pd.ArrowDtype) and dtype.kind == "i":
        return array.astype("Int64")
    if isinstance(array, CompressedTexts):
        return array.materialised()
    return array


def shown_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column as :func:`shown_column` makes it (``frame`` itself when none changes)."""
    converted = {}
    for name, column in frame.items():
        original = column.array  # a new wrapper at each access for numpy-backed columns: fetched once
        array = shown_column(original)
        if array is not original:
            converted[str(name)] = pd.Series(array, index=frame.index)
    return frame.assign(**converted) if converted else frame


def _write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``arrays`` in one file: a JSON table of contents ([name, dtype, shape, offset]), then the raw bytes."""
    plain = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    for name, array in plain.items():
        if array.dtype.kind not in "biuf" or array.dtype.fields is not None:  # an object array would be a pickle
            raise TypeError(f"{name}: only numeric arrays are cached, not {array.dtype}")
    entries, offset = [], 0
    for name, array in plain.items():
        entries.append([name, array.dtype.str, list(array.shape), offset])
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    contents = json.dumps(entries).encode()
    start = -(-(len(_ARRAYS_MAGIC) + 8 + len(contents)) // _ALIGN) * _ALIGN
    with open(path, "wb") as f:
        f.write(_ARRAYS_MAGIC + len(contents).to_bytes(8, "little") + contents)
        for (_, _, _, at), array in zip(entries, plain.values(), strict=True):
            f.seek(start + at)
            f.write(array.reshape(-1).view(np.uint8).data)
        f.truncate(start + offset)  # the last array's padding too: the size says where the file ends


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read-only views of the arrays in a memory map of ``path`` (ValueError when it is not such a file)."""
    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # stays open while a view uses it
    head = len(_ARRAYS_MAGIC) + 8
    if mapped[: len(_ARRAYS_MAGIC)] != _ARRAYS_MAGIC:
        raise ValueError(f"{path} is not an arrays file")
    size = int.from_bytes(mapped[len(_ARRAYS_MAGIC) : head], "little")
    start = -(-(head + size) // _ALIGN) * _ALIGN
    arrays = {}
    for name, dtype_str, shape, offset in json.loads(mapped[head : head + size]):
        dtype = np.dtype(dtype_str)  # a type string: parsing it runs nothing
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise ValueError(f"{path}: {name} is not a numeric array")
        if not all(type(n) is int and n >= 0 for n in [*shape, offset]):
            raise ValueError(f"{path}: {name} has no valid shape and offset")
        count = int(np.prod(shape, dtype=np.int64))
        if start + offset + count * dtype.itemsize > len(mapped):
            raise ValueError(f"{path}: {name} lies beyond the end of the file")
        arrays[str(name)] = np.frombuffer(mapped, dtype, count, start + offset).reshape(shape)
    return arrays


def _write_texts(path: Path, column: pd.Series) -> None:
    """``column`` compressed (:func:`~paper_widgets.store.texts.compressed_texts`) as an ``.arrays`` file."""
    _write_arrays(path, narrowed(compressed_texts(column)))


def _texts_name(name: str, column: str) -> str:
    """The cache entry of text ``column`` of the frame cached as ``name``."""
    return f"{name}|texts:{column}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


class CacheStore(Database):
    """File hashes and the library cache on top of :class:`Database`."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, url: str | None = None) -> None:
        super().__init__(home, url=url)
        self._open_batch: list[_Write] | None = None  # writes for cache_batch's commit (a load's threads share it)
        self._apart = threading.local()  # a write behind (cache_behind) batches its own writes
        self._behind: list[threading.Thread] = []  # the threads of cache_behind not yet waited for
        self._remove_leftovers()

    @property
    def _batch(self) -> list[_Write] | None:
        """The writes the open :meth:`cache_batch` commits at its end (None: none is open); a write
        behind has its own, so that neither commits the other's nor holds it back."""
        if getattr(self._apart, "behind", False):
            writes: list[_Write] | None = getattr(self._apart, "writes", None)
            return writes
        return self._open_batch

    @_batch.setter
    def _batch(self, writes: list[_Write] | None) -> None:
        if getattr(self._apart, "behind", False):
            self._apart.writes = writes
        else:
            self._open_batch = writes

    def _remove_leftovers(self) -> None:
        """Delete ``*.tmp`` files of writers that died (kill -9, power loss) and pickles of older versions."""
        if not self.cache_dir.is_dir():
            return
        now = time.time()
        for path in self.cache_dir.iterdir():
            with contextlib.suppress(OSError):
                if path.suffix == ".pickle":  # never read again: the format could run code
                    path.unlink()
                elif path.suffix == ".tmp":
                    pid = path.name.split(".")[-3]  # <file>.<pid>.<thread>.tmp
                    dead = not pid.isdigit() or not _pid_alive(int(pid))
                    if dead or now - path.stat().st_mtime > _STALE_AFTER:
                        path.unlink()

    def file_hash(self, path: str | os.PathLike[str]) -> str:
        """:func:`file_hash` of ``path``, remembered while its size, mtime and inode stay the same.

        Like git's index: a file rewritten with the same size within the same mtime tick would
        be missed, so hashes of files modified in the last couple of seconds are not remembered.
        """
        resolved = str(Path(path).resolve())
        signature = file_signature(os.stat(resolved))
        row = self._read(
            lambda conn: conn.execute(
                "SELECT size, mtime_ns, inode, hash FROM file_hashes WHERE path = ?", (resolved,)
            ).fetchone()
        )
        if row is not None and tuple(row[:3]) == signature:
            return str(row[3])
        digest = file_hash(resolved)
        after = os.stat(resolved)
        settled = time.time_ns() - after.st_mtime_ns > SETTLED_NS
        if settled and file_signature(after) == signature:

            def remember(conn: sqlite3.Connection) -> list[str]:
                conn.execute(
                    "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, inode, hash) VALUES (?, ?, ?, ?, ?)",
                    (resolved, *signature, digest),
                )
                return []

            self._commit([remember])
        return digest

    # -- reading -----------------------------------------------------------------------------------

    def cache_get_frame(
        self, name: str, content_hash: str, *, arrow_lists: bool = False
    ) -> tuple[pd.DataFrame, Any] | None:
        """The frame and JSON metadata cached under ``name`` if built from ``content_hash``, else None.

        Uncompressed frames are memory-mapped: their strings are read from disk when used.
        ``arrow_lists``: columns of lists stay Arrow lists (see :func:`shown_frame`), so a
        million rows open without making three million Python lists.  Columns cached as ``texts``
        come back as :class:`~paper_widgets.store.texts.CompressedTexts` (decompressed as used) when
        larger than :data:`~paper_widgets.store.texts.LAZY_ABOVE`, else decompressed.
        """
        read = functools.partial(_read_frame, arrow_lists=arrow_lists)
        found = self._get(name, content_hash, _FRAME, read)
        if found is None:
            return None
        frame, info = found
        for column in sorted(info.get("texts", []), key=info["order"].index):  # each inserted at its place
            texts = self.cache_get_texts(name, column, content_hash)
            if texts is None or len(texts) != len(frame):
                return None
            frame.insert(info["order"].index(column), column, pd.Series(held(texts), index=frame.index))
        return frame, info["meta"]

    def cache_holds_any(self, names: Sequence[str]) -> bool:
        """Whether anything is cached under one of ``names``, whatever it was built from."""

        def any_cached(conn: sqlite3.Connection) -> bool:
            for at in range(0, len(names), 500):  # far below SQLite's limit on parameters (999 before 3.32)
                part = names[at : at + 500]
                query = f"SELECT 1 FROM cache WHERE name IN ({', '.join('?' * len(part))}) LIMIT 1"
                if conn.execute(query, part).fetchone() is not None:
                    return True
            return False

        return self._read(any_cached)

    def cache_get_texts(self, name: str, column: str, content_hash: str) -> CompressedTexts | None:
        """The text ``column`` of the frame cached under ``name`` with ``texts=[column]``, if built
        from ``content_hash`` (else None), compressed and memory-mapped."""
        arrays = self.cache_get_arrays(_texts_name(name, column), content_hash)
        try:
            return None if arrays is None else texts_of(arrays)
        except (KeyError, ValueError):
            return None

    def cache_get_arrays(self, name: str, content_hash: str) -> dict[str, np.ndarray] | None:
        """The numpy arrays cached under ``name`` if built from ``content_hash``, else None.

        They are read-only views of the memory-mapped file: pages are read as they are used.
        """
        return self._get(name, content_hash, _ARRAYS, _read_arrays)

    def _get(self, name: str, content_hash: str, suffix: str, read: Callable[[Path], _T]) -> _T | None:
        """A missing, foreign, resized or unreadable cache file (e.g. from an older paper_widgets) is a miss."""
        row = self._read(
            lambda conn: conn.execute("SELECT hash, file, size FROM cache WHERE name = ?", (name,)).fetchone()
        )
        if row is None or row[0] != content_hash:
            return None
        path = self._confined(str(row[1]), suffix)
        try:
            if path is None or path.stat().st_size != row[2]:
                return None
            with gc_paused():
                return read(path)
        except Exception:
            return None

    def _confined(self, file: str, suffix: str) -> Path | None:
        """``cache_dir / file`` when ``file`` is a plain name of a cache file of this kind, else None."""
        if not file.endswith(suffix) or Path(file).name != file or file.startswith(".") or "\\" in file:
            return None
        return self.cache_dir / file

    # -- writing -----------------------------------------------------------------------------------

    def cache_put_frame(
        self,
        name: str,
        content_hash: str,
        frame: pd.DataFrame,
        meta: object = None,
        *,
        compressed: bool = False,
        texts: Sequence[str] = (),
    ) -> bool:
        """Cache ``frame`` (and JSON-able ``meta``) under ``name``; False when it could not be written.

        ``compressed``: zstd-compressed (a third of the disk) for frames only read when something
        changed; uncompressed ones open memory-mapped.  ``texts``: string columns (abstracts) stored
        apart, compressed in small blocks, so that an uncompressed frame opens memory-mapped without
        them and each row's text is decompressed when it is used.
        """
        for column in texts:
            write_texts = functools.partial(_write_texts, column=frame[column])
            if not self._put(_texts_name(name, column), content_hash, _ARRAYS, write_texts):
                return False
        write = functools.partial(_write_frame, frame=frame, meta=meta, compressed=compressed, texts=texts)
        return self._put(name, content_hash, _FRAME, write)

    def cache_put_arrays(self, name: str, content_hash: str, arrays: Mapping[str, np.ndarray]) -> bool:
        """Cache numeric ``arrays`` under ``name``; False when they could not be written."""
        return self._put(name, content_hash, _ARRAYS, lambda path: _write_arrays(path, arrays))

    @contextlib.contextmanager
    def cache_batch(self) -> Iterator[None]:
        """Commit the cache entries and file hashes recorded inside in one transaction at the end.

        One fsync for a folder of files instead of one per file; what is recorded only saves work
        later, so the deferral loses nothing the user wrote.
        """
        if self._batch is not None:  # nested: the outer batch commits
            yield
            return
        self._batch = []
        try:
            yield
        finally:
            writes, self._batch = self._batch, None
            self._commit(writes, now=True)

    def cache_behind(self, write: Callable[[], object]) -> threading.Thread:
        """Run ``write`` (cache puts) in a thread of its own while the caller goes on; the thread is
        returned for a caller that needs what ``write`` found (joining it waits for that write alone).

        Each entry is committed only once its file is in place, so a reader (another store on
        this folder, another process) meanwhile finds it missing, never half-written; this store's
        :meth:`cache_settle` waits for it.  Not a daemon thread: the interpreter finishes the write
        before it exits (killed mid-write, the ``*.tmp`` file is removed when a store next opens).
        A failure is a miss, as for every cache write.
        """
        thread = threading.Thread(target=self._written_behind, args=(write,), name="paper_widgets cache write")
        self._behind.append(thread)
        thread.start()
        return thread

    def _written_behind(self, write: Callable[[], object]) -> None:
        self._apart.behind = True
        with contextlib.suppress(Exception):  # optional, as every cache write: the library is loaded already
            write()

    def cache_settle(self) -> None:
        """Wait for the writes :meth:`cache_behind` started."""
        while self._behind:
            self._behind.pop(0).join()

    def close(self) -> None:
        """Close the connections once the writes running behind are done (they use them)."""
        self.cache_settle()
        super().close()

    def _put(self, name: str, content_hash: str, suffix: str, write: Callable[[Path], None]) -> bool:
        file = hashlib.blake2b(f"{name}\0{content_hash}".encode(), digest_size=16).hexdigest() + suffix
        path = self.cache_dir / file
        partial = path.with_name(f"{file}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.cache_dir.mkdir(mode=0o700, exist_ok=True)
            write(partial)
            os.replace(partial, path)
            size = path.stat().st_size
        except Exception:  # optional: a full disk or an unserialisable value must not fail the load
            with contextlib.suppress(OSError):
                partial.unlink()
            return False

        def point(conn: sqlite3.Connection) -> list[str]:
            """Point the ``cache`` row at the new file; the file it replaces, to delete after the commit."""
            old = conn.execute("SELECT file FROM cache WHERE name = ?", (name,)).fetchone()
            conn.execute(
                "INSERT INTO cache (name, hash, file, size, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET "
                "hash = excluded.hash, file = excluded.file, size = excluded.size, created = excluded.created",
                (name, content_hash, file, size, time.time()),
            )
            return [str(old[0])] if old is not None and old[0] != file else []

        self._commit([point])
        return True

    def _commit(self, writes: list[Callable[[sqlite3.Connection], list[str]]], now: bool = False) -> None:
        """Run ``writes`` in one transaction (or hold them for :meth:`cache_batch`); delete the files they replace."""
        if self._batch is not None and not now:
            self._batch.extend(writes)
            return
        if not writes:
            return
        try:
            replaced = self._write(lambda conn: [file for write in writes for file in write(conn)])
        except sqlite3.Error:  # a read-only or full store: the cache stays as it was
            return
        for file in replaced:
            # Windows refuses while another process reads it; the file is then merely left over.
            path = self._confined(file, Path(file).suffix) if Path(file).suffix else None
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
