"""Which of a notebook's code cells the NumPy-only kernel must run before a test cell.

That kernel exists only to call the student's functions with NumPy alone installed, so it
runs the cells that define the functions the test cell calls and, transitively, the cells
that define the top-level names those cells use (imports, constants, helpers), never the
lecture cells around them (most fail there, torch being hidden, and some are slow).

Everything is read with :mod:`ast` and :mod:`symtable`, never run.  Where the reading
cannot account for a name, the answer is every cell, as a kernel that ran the whole
notebook would have it: a cell that does not parse (an IPython magic) or is longer than
:data:`~poolgrade.execution.test_cells.MAX_CELL_CHARS` defines nothing, so a called
function or a used global found in no readable cell means "run them all".
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from dataclasses import dataclass

from poolgrade.execution.test_cells import MAX_CELL_CHARS

# names a kernel provides without any cell: the builtins and IPython's own
_PROVIDED = frozenset(dir(builtins)) | {"display", "get_ipython", "In", "Out", "_", "__",
                                        "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh"}
# a test cell using these may reach a student's name that its code does not spell out
_DYNAMIC = frozenset({"globals", "locals", "vars", "eval", "exec", "current_names",
                      "__dict__", "__import__"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class _Cell:
    """What one readable cell binds and uses at the top level of the notebook."""

    sure: frozenset[str]       # bound by a top-level statement: hides any earlier binding
    binds: frozenset[str]      # bound somewhere (``sure`` included)
    changed: frozenset[str]    # changed in place (``a[i] = v``, ``a.append(v)``)
    imports: frozenset[str]    # bound by an import somewhere
    now: frozenset[str]        # globals read while the cell runs
    later: frozenset[str]      # globals read when its functions are called (by the test)


def _parse(source: str) -> ast.Module | None:
    if len(source) > MAX_CELL_CHARS:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _target_names(target: ast.AST) -> set[str] | None:
    """The names a plain assignment target binds; None for ``a[i] = ...``/``a.b = ...``."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        found: set[str] = set()
        for element in target.elts:
            inner = _target_names(element.value if isinstance(element, ast.Starred)
                                  else element)
            if inner is None:
                return None
            found |= inner
        return found
    return None


def _sure_bindings(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).partition(".")[0] for a in node.names
                      if a.name != "*"}
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names |= _target_names(target) or set()
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            names |= _target_names(node.target) or set()
    return names


def _root(node: ast.AST) -> str | None:
    """``a`` of ``a``, ``a.b.c``, ``a[i].b``."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _top_level_nodes(tree: ast.Module):
    """The nodes that run with the cell, not inside a function, lambda or class body."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _changes(tree: ast.Module) -> set[str]:
    """Globals a cell changes in place: ``a[i] = v``, ``a.b = v``, ``a.append(v)``."""
    names: set[str] = set()
    for node in _top_level_nodes(tree):
        if isinstance(node, (ast.Subscript, ast.Attribute)) \
                and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(_root(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            names.add(_root(node.func))
    return names - {None}


def _scopes(table: symtable.SymbolTable, now: set, later: set, binds: set) -> None:
    """Sort the globals the scopes under ``table`` read into ``now``/``later``."""
    for child in table.get_children():
        runs_with_cell = child.get_type() != "function" or child.get_name() in (
            "listcomp", "setcomp", "dictcomp", "genexpr", "lambda")
        for symbol in child.get_symbols():
            if symbol.is_declared_global() and symbol.is_assigned():
                binds.add(symbol.get_name())
            if symbol.is_global() and symbol.is_referenced():
                later.add(symbol.get_name())
                if runs_with_cell:      # a class body, a comprehension: may run right now
                    now.add(symbol.get_name())
        _scopes(child, now, later, binds)


def _read_cell(source: str) -> _Cell | None:
    tree = _parse(source)
    if tree is None:
        return None
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    now, later, binds = set(), set(), set()
    for symbol in table.get_symbols():
        if symbol.is_referenced():
            now.add(symbol.get_name())
        if symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace():
            binds.add(symbol.get_name())
    _scopes(table, now, later, binds)
    changed = _changes(tree)
    # a changed global is read first: the cell needs its earlier binding
    now |= changed
    sure = _sure_bindings(tree)
    imports = {(a.asname or a.name).partition(".")[0] for node in ast.walk(tree)
               if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    return _Cell(frozenset(sure), frozenset(binds | sure), frozenset(changed),
                 frozenset(imports), frozenset(now), frozenset(later))


def called_names(test_source: str, names, prelude: str = "") -> set[str] | None:
    """The student's names (of ``names``) that test cell ``test_source`` may call, with
    the helpers earlier test cells defined (``prelude``, see
    :func:`~poolgrade.execution.test_cells.helper_preludes`): every one its code or its
    strings spell out (a check may look a function up by its exercise's name).  None when
    that cannot be told: the code does not parse, or reaches names dynamically
    (``globals()``, ``eval``, ...)."""
    spelled: set[str] = set()
    for source in (prelude, test_source):
        tree = _parse(source)
        if tree is None:
            return None
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                spelled.add(node.id)
            elif isinstance(node, ast.Attribute):
                spelled.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                spelled |= set(_WORD.findall(node.value))
    if spelled & _DYNAMIC:
        return None
    return spelled & set(names)


def cells_to_run(cells: list[tuple[int, str]],
                 called: set[str] | None) -> list[tuple[int, str]]:
    """The cells of ``cells`` that a kernel must run so that ``called`` are defined as the
    notebook defines them at the test cell.

    ``cells``: ``(index, source)`` of the code cells before the test cell, in notebook
    order (no test cells).  ``called``: the student's names the test cell calls
    (:func:`called_names`), or None when unknown.  Returns a sub-list of ``cells``, in the
    same order, to be run in that order.

    A name counts as defined by the last cell before the point it is read that binds it by
    a top-level statement (``def``, ``class``, ``import``, ``x = ...``); cells in between
    that may bind or change it (under an ``if``, ``x[i] = ...``, ``x += 1``,
    ``x.append(...)``, ``global x``) run too.  The names a chosen cell reads are followed in
    turn: what runs with the cell from the cell's place, what its functions read from the
    test cell's.  Every cell comes back (today's rule, run them all) when ``called`` is None,
    or when a called name, or a name a chosen cell reads, is bound by no readable cell (nor
    the chosen cell itself, nor the builtins): a cell that does not parse or is longer than
    ``MAX_CELL_CHARS`` binds nothing.
    """
    if called is None:
        return list(cells)
    read = [_read_cell(source) for _, source in cells]
    # ``np.random.seed(0)`` calls a module, it does not change a value the student defined
    modules = set().union(*(cell.imports for cell in read if cell is not None))
    binds = [None if cell is None else cell.binds | (cell.changed - modules) for cell in read]
    chosen: set[int] = set()
    pending = [(name, len(cells), frozenset()) for name in sorted(called)]
    seen: set[tuple[str, int]] = set()
    while pending:
        name, before, own = pending.pop()
        if (name, before) in seen:
            continue
        seen.add((name, before))
        found = False
        for position in range(before - 1, -1, -1):
            cell = read[position]
            if cell is None or name not in binds[position]:
                continue
            found = True
            if position not in chosen:
                chosen.add(position)
                pending += [(used, position, binds[position]) for used in cell.now]
                pending += [(used, len(cells), binds[position]) for used in cell.later]
            if name in cell.sure:
                break
        if not found and name not in own and name not in _PROVIDED:
            return list(cells)
    return [cells[position] for position in sorted(chosen)]


def can_run_late(source: str, later_sources: list[str]) -> bool:
    """Whether cell ``source``, which comes before every one of ``later_sources`` in the
    notebook, may run after them with the same effect: it binds, changes or reads at the
    top level no name they bind, change or read at the top level.  False when any of them
    cannot be read (then only a fresh kernel running them in order is safe)."""
    cell = _read_cell(source)
    if cell is None:
        return False
    touched = cell.binds | cell.changed | cell.now
    for later_source in later_sources:
        later = _read_cell(later_source)
        if later is None or touched & (later.binds | later.changed | later.now):
            return False
    return True
