"""Finding submissions (a folder or a zip in nbgrader's layout) and reading their notebooks.

nbgrader's layout is ``<submissions>/<student>/<assignment>/<notebook>.ipynb``. Reading is
where bad input is caught: a file that is not JSON, JSON that is not a notebook, a notebook
saved under another name, or none at all. Each becomes an :class:`Event` with a reason the
instructor can act on, instead of the silent 0 nbgrader would record.

Finding is where a bad layout is caught: a zip entry that would land outside its folder, a
link or an oversized file is left out (and named in the student's CSV row), the rest of the
class is graded; a folder that holds notebooks but no assignment folder is named in the
report; a layout nothing can be graded from is an error naming what was found.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from dataclasses import dataclass, field

from poolgrade.model import Event

SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", "__MACOSX"}

# Bounds checked on the zip's own table of contents before anything is written (a zip bomb is
# refused, not unpacked): entries, bytes of one file, bytes of all files.  zipfile never writes
# more than an entry's recorded size, so the recorded sizes bound the disk used.
MAX_ZIP_ENTRIES = 100_000
MAX_ZIP_FILE_BYTES = 256 << 20
MAX_ZIP_BYTES = 4 << 30


def layout(assignment: str) -> str:
    return f"<student>/{assignment}/<notebook>.ipynb"


@dataclass
class LeftOut:
    """A zip entry, file or folder that was not graded, and why.  One inside a student's
    folder goes into that student's CSV row (status ``blocked``); any other gets a row of its
    own in the CSV and a line in the summary."""

    what: str                     # e.g. "zip entry '../x'", "folder 'notes/'"
    why: str
    student: str | None = None

    def describe(self) -> str:
        return f"{self.what} skipped: {self.why}"


@dataclass
class Submission:
    student: str
    folder: str          # <submissions>/<student>/<assignment>
    digest: str = ""     # hash of every file in the folder and of what was left out
    events: list[Event] = field(default_factory=list)   # what was left out, as CSV reasons


def find_submissions(root: str, assignment: str, left_out: list[LeftOut] = ()
                     ) -> tuple[list[Submission], list[LeftOut]]:
    """Every ``<root>/<student>/<assignment>/`` folder, sorted by student id, and what in
    ``root`` was left out without being any student's (``left_out`` adds what unpacking a zip
    left out).

    Raises FileNotFoundError when there is nothing to grade, and ValueError when ``root``
    mixes two layouts; either message names what was found and the layout expected.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"No submissions folder at {root}. Pass --submissions with a folder laid out as "
            f"{layout(assignment)}, or a zip of one.")
    students, strays = survey(root, assignment, root)
    mine: dict[str, list[LeftOut]] = {}
    others = list(strays)
    for item in left_out:
        if item.student in students:
            mine.setdefault(item.student, []).append(item)
        else:
            others.append(item)
    found = []
    for student in students:
        folder = os.path.join(root, student, assignment)
        events = [Event("blocked", item.describe()) for item in mine.get(student, [])]
        digest = hashlib.sha256((folder_digest(folder) + "".join(
            f"\0{e.detail}" for e in events)).encode()).hexdigest()
        found.append(Submission(student, folder, digest, events))
    return found, others


def survey(root: str, assignment: str, where: str) -> tuple[list[str], list[LeftOut]]:
    """The student ids in ``root`` (folders holding ``<assignment>/``) and the files and
    folders that look handed in but are in no student's folder: a folder with notebooks of
    its own, a file.  A folder that only holds other folders is taken for a student's other
    assignments and passed over.  ``where`` names ``root`` in messages.

    Raises ValueError when a folder in ``root`` holds ``<student>/<assignment>/`` folders of
    its own (two layouts, or one wrapped in an extra folder), FileNotFoundError when ``root``
    holds no student folder at all.
    """
    students, strays, nested = [], [], {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if _junk(name):
            continue
        if not os.path.isdir(path):
            strays.append(LeftOut(f"file '{name}'", "it is not in a <student>/"
                                  f"{assignment}/ folder"))
        elif os.path.isdir(os.path.join(path, assignment)):
            students.append(name)
        elif below := _students_below(path, assignment):
            nested[name] = below
        elif any(f.endswith(".ipynb") for f in os.listdir(path)):
            strays.append(LeftOut(f"folder '{name}/'", f"it holds notebooks but no "
                                  f"{assignment}/ folder (expected {layout(assignment)})"))
    if nested:
        inner = "; ".join(f"'{name}/' holds the student folders {_some(ids)}"
                          for name, ids in nested.items())
        top = f"next to the student folders {_some(students)}" if students else \
            "instead of student folders"
        raise ValueError(
            f"{where}: {inner}, {top}. Which folder is the class is unclear: grade a folder "
            f"(or a zip of one) laid out as {layout(assignment)}"
            + (f", e.g. --submissions {os.path.join(where, next(iter(nested)))}"
               if not students and os.path.isdir(where) else "") + ".")
    if not students:
        seen = [n for n in sorted(os.listdir(root)) if not _junk(n)]
        found = f"{_some(seen)} (no {assignment}/ folder in them)" if seen else "nothing"
        raise FileNotFoundError(f"{where} holds no submission of {assignment}: expected "
                                f"{layout(assignment)}, found {found} at the top.")
    return students, strays


def _students_below(folder: str, assignment: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if not _junk(name)
                  and os.path.isdir(os.path.join(folder, name, assignment)))


def _junk(name: str) -> bool:
    """Hidden files and folders, and the ones tools leave behind (``__MACOSX/``, ...)."""
    return name.startswith(".") or name in SKIP_DIRS


def _some(names: list[str], shown: int = 5) -> str:
    text = ", ".join(f"'{n}'" for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def folder_digest(folder: str) -> str:
    """sha256 of the relative paths and contents of every file under ``folder``."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            digest.update(os.path.relpath(full, folder).encode() + b"\0")
            if os.path.islink(full) or not os.path.isfile(full):
                # a link counts by where it points (it is never followed), a socket or
                # fifo by its name
                digest.update(b"link:" + os.readlink(full).encode() if os.path.islink(full)
                              else b"special")
            else:
                with open(full, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def unpack_zip(path: str, assignment: str, into: str) -> tuple[str, list[LeftOut]]:
    """Extract a zip of submissions into ``into``; returns the folder that holds the
    ``<student>/<assignment>/`` folders (the zip may wrap them in folders such as
    ``submitted/``, each with nothing beside it but files) and what was left out.

    An entry that would land outside its folder (``..``, an absolute path), a link, a
    special file, one too big or one that cannot be read is skipped and reported, and the
    rest is graded; a zip over the size or entry bounds is refused as a whole (ValueError).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"{path} cannot be read as a zip ({err}): pass a zip, or a folder "
                         f"laid out as {layout(assignment)}") from err
    skipped: list[tuple[list[str], LeftOut]] = []   # (folders above the entry, why)
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_ENTRIES:
            raise ValueError(f"{path} has {len(members)} entries, more than the "
                             f"{MAX_ZIP_ENTRIES} a class's submissions need: refused unread")
        keep = []
        for member in members:
            parents, problem = _entry_problem(member)
            if problem:
                skipped.append((parents, LeftOut(f"zip entry '{member.filename}'", problem)))
            else:
                keep.append(member)
        total = sum(m.file_size for m in keep)
        if total > MAX_ZIP_BYTES:
            raise ValueError(f"{path} would unpack to {total >> 20} MB, more than the "
                             f"{MAX_ZIP_BYTES >> 20} MB allowed: refused unread")
        for member in keep:
            try:
                archive.extract(member, into)
            except Exception as err:  # a damaged or encrypted entry costs only itself
                parents = member.filename.split("/")[:-1]
                skipped.append((parents, LeftOut(f"zip entry '{member.filename}'",
                                                 f"it cannot be unpacked ({err})")))
                target = os.path.join(into, member.filename)
                if os.path.isfile(target):
                    os.remove(target)
    root, outside = _unwrap(into, assignment)
    left_out = [LeftOut(f"file '{name}'", "it is outside the submissions folder "
                        f"'{os.path.relpath(root, into)}/'") for name in outside]
    wrapper = [] if root == into else os.path.relpath(root, into).split(os.sep)
    for parents, item in skipped:
        inside = parents[len(wrapper):] if parents[:len(wrapper)] == wrapper else []
        if len(inside) >= 2 and inside[1] == assignment and not _junk(inside[0]):
            # the student the entry belonged to gets a row even if nothing else of theirs
            # was in the zip
            try:
                os.makedirs(os.path.join(root, inside[0], assignment), exist_ok=True)
            except OSError:
                pass   # a file of that name is in the way: the entry stays unattributed
        if inside and not _junk(inside[0]) and \
                os.path.isdir(os.path.join(root, inside[0], assignment)):
            item.student = inside[0]
        left_out.append(item)
    try:
        survey(root, assignment, path)
    except FileNotFoundError as err:
        if not left_out:
            raise
        raise FileNotFoundError(f"{err} Left out: "
                                + "; ".join(i.describe() for i in left_out[:10])) from None
    return root, left_out


def _entry_problem(member: zipfile.ZipInfo) -> tuple[list[str], str | None]:
    """The folders an entry's name puts it in (up to where the name goes wrong), and why it
    must not be unpacked, or None."""
    name = member.filename.replace("\\", "/")
    parts = name.split("/")
    if ".." in parts:
        return _clean(parts[:parts.index("..")]), "its path leaves the submission folder (..)"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return _clean(parts[:-1]), "its path is absolute"
    kind = stat.S_IFMT(member.external_attr >> 16)
    if stat.S_ISLNK(member.external_attr >> 16):
        return _clean(parts[:-1]), "it is a symbolic link (links are never followed)"
    if kind and not (stat.S_ISREG(kind) or stat.S_ISDIR(kind)):
        return _clean(parts[:-1]), "it is not a regular file"
    if member.file_size > MAX_ZIP_FILE_BYTES:
        return _clean(parts[:-1]), (f"it unpacks to {member.file_size >> 20} MB, more than "
                                    f"the {MAX_ZIP_FILE_BYTES >> 20} MB one file may have")
    return [], None


def _clean(parts: list[str]) -> list[str]:
    return [p for p in parts if p not in ("", ".") and ":" not in p]


def _unwrap(into: str, assignment: str) -> tuple[str, list[str]]:
    """The folder below ``into`` that holds the student folders: ``into`` itself, or the
    folder it wraps (again and again) when that is the only folder in it and student
    folders are found that way.  Also returns the files passed over on the way, by their
    path in the zip."""
    root, outside = into, []
    while not _students_below(root, assignment):
        names = [n for n in os.listdir(root) if not _junk(n)]
        folders = [n for n in names if os.path.isdir(os.path.join(root, n))]
        if len(folders) != 1:
            return into, []
        outside += [os.path.relpath(os.path.join(root, n), into) for n in names
                    if n not in folders]
        root = os.path.join(root, folders[0])
    return root, outside


def read_notebooks(folder: str, expected: list[str]):
    """Read the expected notebooks of one submission.

    Returns ``(notebooks, events)`` where ``notebooks`` maps each expected name to a
    NotebookNode, or to None when it is missing or unreadable (an event says which).
    """
    import nbformat

    events: list[Event] = []
    notebooks: dict[str, object] = {}
    present = sorted(f[:-6] for f in os.listdir(folder)
                     if f.endswith(".ipynb") and os.path.isfile(os.path.join(folder, f)))
    strays = [name for name in present if name not in expected]
    for name in expected:
        filename = f"{name}.ipynb"
        if name not in present:
            if len(expected) == 1 and len(strays) == 1:
                filename = f"{strays[0]}.ipynb"
                events.append(Event("notebook_renamed", f"graded '{filename}' in place of the "
                                    f"missing '{name}.ipynb'", notebook=name))
            else:
                found = ", ".join(f"{s}.ipynb" for s in strays) or "no notebook at all"
                events.append(Event("missing_notebook", f"'{name}.ipynb' is not in the "
                                    f"submission (found {found})", notebook=name))
                notebooks[name] = None
                continue
        path = os.path.join(folder, filename)
        nb, problem = _read_one(path, nbformat)
        if problem:
            events.append(Event("invalid_notebook", f"'{filename}' {problem}", notebook=name))
        notebooks[name] = nb
    return notebooks, events


def _read_one(path: str, nbformat):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        return None, f"cannot be read: {err.strerror}"
    if not raw.strip():
        return None, "is empty (0 bytes of notebook)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"is not UTF-8 text (byte {err.start}): the file is probably damaged"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return None, (f"is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
                      "it was probably edited outside Jupyter or cut short")
    if not isinstance(data, dict) or not isinstance(data.get("cells", None), list):
        return None, "is JSON but not a notebook (no list of cells)"
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as err:  # nbformat raises several types for broken notebooks
        return None, f"is not a notebook nbformat can read: {str(err).splitlines()[0][:200]}"
    return nb, None
