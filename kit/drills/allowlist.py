"""The first layer of the drill sandbox: an ``ast`` allowlist a submission must pass before it runs.

A submission is accepted only if it is one function definition with the drill's exact
signature, built from the nodes listed in ``ALLOWED_NODES`` and reading only names and
attributes on the lists below. Everything else is refused with the construct and its line, e.g.
``line 3: imports are not allowed``. It is an allowlist: a construct Python adds tomorrow is
refused until someone lists it here.

What a submission can reach:

- its parameters and its own local variables;
- ``torch.<f>``, ``F.<f>`` (``torch.nn.functional``) and ``math.<f>`` for the functions in
  ``TORCH_FUNCTIONS``, ``F_FUNCTIONS`` and ``MATH_NAMES``, pure computations on numbers and
  tensors (no file, process, serialisation, hub, JIT or extension API is on them);
- attributes of anything else (tensors, the objects a drill passes in) only when the name is in
  ``OBJECT_ATTRIBUTES``: tensor methods such as ``.sum`` and ``.exp``, plus the few method names
  a drill's own objects offer (``model.encode``, ``optimizer.step``, ``decoder.latent_dim``);
- the builtins in ``BUILTINS`` (``range``, ``len``, ``min``, ``abs``, ...).

No name or attribute that starts with ``_`` is ever allowed, which closes the dunder walks
(``().__class__.__mro__``); ``getattr``/``eval``/``open``/``type`` and friends are not names a
submission can read; attribute and global stores, ``import``, ``with``, ``try``, ``class``,
``lambda``, decorators, comprehensions, generators, f-strings and ``**kwargs`` are not nodes it
can use. The worker process (``kit.drills.worker``) runs this check again before it executes
anything, and then runs the code under resource limits with no secrets in reach.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_CODE_BYTES = 8 * 1024  # a drill's answer is a dozen lines; 8 KB is generous

#: ``torch.<name>`` a submission may use: tensor maths, creation and reductions, nothing else
TORCH_FUNCTIONS = frozenset(
    [
        "abs",
        "acos",
        "arccos",
        "asin",
        "atan",
        "atan2",
        "cos",
        "cosh",
        "sin",
        "sinh",
        "tan",
        "tanh",
        "exp",
        "exp2",
        "expm1",
        "log",
        "log1p",
        "log2",
        "log10",
        "sqrt",
        "rsqrt",
        "square",
        "pow",
        "sigmoid",
        "logit",
        "erf",
        "erfc",
        "lgamma",
        "digamma",
        "sign",
        "clamp",
        "clip",
        "floor",
        "ceil",
        "round",
        "trunc",
        "frac",
        "sum",
        "mean",
        "std",
        "var",
        "prod",
        "max",
        "min",
        "amax",
        "amin",
        "argmax",
        "argmin",
        "maximum",
        "minimum",
        "logsumexp",
        "logaddexp",
        "cumsum",
        "cumprod",
        "softmax",
        "log_softmax",
        "where",
        "isnan",
        "isinf",
        "isfinite",
        "allclose",
        "isclose",
        "equal",
        "nan_to_num",
        "relu",
        "tensor",
        "as_tensor",
        "zeros",
        "ones",
        "full",
        "empty",
        "zeros_like",
        "ones_like",
        "full_like",
        "empty_like",
        "arange",
        "linspace",
        "eye",
        "randn",
        "randn_like",
        "rand",
        "rand_like",
        "normal",
        "stack",
        "cat",
        "hstack",
        "vstack",
        "reshape",
        "flatten",
        "squeeze",
        "unsqueeze",
        "transpose",
        "permute",
        "t",
        "expand_copy",
        "broadcast_to",
        "chunk",
        "split",
        "narrow",
        "flip",
        "roll",
        "gather",
        "index_select",
        "masked_fill",
        "lerp",
        "matmul",
        "mm",
        "bmm",
        "mv",
        "dot",
        "outer",
        "einsum",
        "inner",
        "cross",
        "norm",
        "dist",
        "cdist",
        "cosine_similarity",
        "float32",
        "float64",
        "int64",
        "int32",
        "long",
        "bool",
        "pi",
        "inf",
        "nan",
        "e",
        "Tensor",
        "Generator",
    ]
)

#: ``F.<name>`` (torch.nn.functional): losses and activations
F_FUNCTIONS = frozenset(
    [
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "mse_loss",
        "l1_loss",
        "gaussian_nll_loss",
        "kl_div",
        "nll_loss",
        "cross_entropy",
        "softplus",
        "logsigmoid",
        "sigmoid",
        "relu",
        "elu",
        "gelu",
        "tanh",
        "silu",
        "softmax",
        "log_softmax",
        "normalize",
        "cosine_similarity",
        "pairwise_distance",
        "linear",
        "one_hot",
    ]
)

#: ``math.<name>``
MATH_NAMES = frozenset(
    [
        "pi",
        "e",
        "tau",
        "inf",
        "nan",
        "log",
        "log2",
        "log10",
        "log1p",
        "exp",
        "expm1",
        "sqrt",
        "pow",
        "fabs",
        "floor",
        "ceil",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "atan2",
        "sinh",
        "cosh",
        "tanh",
        "isfinite",
        "isnan",
        "isinf",
        "isclose",
        "lgamma",
        "erf",
        "fsum",
        "prod",
    ]
)

#: attribute names allowed on any other object (a tensor, or an object a drill passes in)
OBJECT_ATTRIBUTES = frozenset(
    [
        "sum",
        "mean",
        "std",
        "var",
        "prod",
        "max",
        "min",
        "amax",
        "amin",
        "argmax",
        "argmin",
        "abs",
        "exp",
        "exp2",
        "expm1",
        "log",
        "log1p",
        "log2",
        "log10",
        "sqrt",
        "rsqrt",
        "square",
        "pow",
        "sigmoid",
        "tanh",
        "relu",
        "sin",
        "cos",
        "acos",
        "asin",
        "atan",
        "clamp",
        "clamp_min",
        "clamp_max",
        "clip",
        "floor",
        "ceil",
        "round",
        "sign",
        "neg",
        "reciprocal",
        "logsumexp",
        "softmax",
        "log_softmax",
        "cumsum",
        "view",
        "reshape",
        "flatten",
        "squeeze",
        "unsqueeze",
        "expand",
        "expand_as",
        "repeat",
        "transpose",
        "permute",
        "t",
        "T",
        "mT",
        "contiguous",
        "chunk",
        "split",
        "flip",
        "narrow",
        "gather",
        "masked_fill",
        "where",
        "matmul",
        "mm",
        "mv",
        "dot",
        "outer",
        "norm",
        "add",
        "sub",
        "mul",
        "div",
        "lerp",
        "float",
        "double",
        "long",
        "int",
        "bool",
        "item",
        "tolist",
        "clone",
        "detach",
        "requires_grad",
        "shape",
        "size",
        "dim",
        "ndim",
        "numel",
        "dtype",
        "is_floating_point",
        "isnan",
        "isinf",
        "isfinite",
        "any",
        "all",
        "nan_to_num",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "zero_grad",
        "backward",
        "step",
        "encode",
        "decode",
        "latent_dim",
    ]
)

#: builtins a submission may call (the worker's ``__builtins__`` holds only these)
BUILTINS = frozenset(
    [
        "abs",
        "all",
        "any",
        "bool",
        "enumerate",
        "float",
        "int",
        "len",
        "list",
        "max",
        "min",
        "range",
        "reversed",
        "round",
        "sum",
        "tuple",
        "zip",
    ]
)

#: module names a submission finds already bound (it may not import anything)
MODULES = {"torch": TORCH_FUNCTIONS, "F": F_FUNCTIONS, "math": MATH_NAMES}

#: the nodes a submission may contain (anything else is refused, naming it)
ALLOWED_NODES = (
    # the one function and its body
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign,
    ast.AugAssign, ast.AnnAssign, ast.If, ast.For, ast.While, ast.Break, ast.Continue,
    ast.Pass, ast.Expr,
    # expressions
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword,
    ast.Attribute, ast.Subscript, ast.Slice, ast.Name, ast.Constant, ast.Tuple, ast.List,
    ast.Load, ast.Store,
    # operators
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult,
    ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
)  # fmt: skip

#: a readable name for the refused constructs a learner is most likely to try
REFUSED_NAMES = {
    "Import": "imports",
    "ImportFrom": "imports",
    "Lambda": "lambda",
    "ClassDef": "class definitions",
    "With": "'with' blocks",
    "AsyncWith": "'with' blocks",
    "Try": "try/except",
    "TryStar": "try/except",
    "Raise": "raise",
    "Global": "'global'",
    "Nonlocal": "'nonlocal'",
    "Yield": "generators (yield)",
    "YieldFrom": "generators (yield)",
    "GeneratorExp": "generator expressions",
    "ListComp": "list comprehensions (write a for loop)",
    "SetComp": "set comprehensions",
    "DictComp": "dict comprehensions",
    "Dict": "dict literals",
    "Set": "set literals",
    "JoinedStr": "f-strings",
    "FormattedValue": "f-strings",
    "Await": "await",
    "AsyncFunctionDef": "async functions",
    "AsyncFor": "async for",
    "Delete": "del",
    "Assert": "assert",
    "NamedExpr": "the walrus operator :=",
    "Starred": "star arguments",
    "Match": "match statements",
    "BitAnd": "bitwise operators",
    "BitOr": "bitwise operators",
    "BitXor": "bitwise operators",
    "Invert": "bitwise operators",
    "LShift": "bitwise operators",
    "RShift": "bitwise operators",
    "Is": "'is' comparisons",
    "IsNot": "'is not' comparisons",
    "In": "'in' comparisons",
    "NotIn": "'not in' comparisons",
}


class RefusedCode(ValueError):
    """A submission the allowlist refuses; the message names the construct and its line."""


@dataclass(frozen=True)
class Signature:
    """The function a drill asks for."""

    name: str
    """Function name, e.g. "reparameterize" (also the drill's id)."""
    params: tuple[str, ...]
    """Parameter names in order, e.g. ("mu", "logvar", "eps")."""


def _refuse(node: ast.AST, what: str, line: int | None = None) -> RefusedCode:
    return RefusedCode(f"line {line or getattr(node, 'lineno', 1)}: {what}")


def _check_signature(fn: ast.FunctionDef, sig: Signature) -> None:
    a = fn.args
    if fn.decorator_list:
        raise _refuse(fn.decorator_list[0], "decorators are not allowed")
    if fn.name != sig.name:
        raise _refuse(fn, f"the function must be called {sig.name!r}, not {fn.name!r}")
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        raise _refuse(fn, f"the signature must be exactly {sig.name}({', '.join(sig.params)})")
    if a.defaults or a.kw_defaults:
        raise _refuse(fn, "default argument values are not allowed")
    got = tuple(arg.arg for arg in a.args)
    if got != sig.params:
        raise _refuse(
            fn, f"the signature must be {sig.name}({', '.join(sig.params)}), got ({', '.join(got)})"
        )


def _assigned_names(fn: ast.FunctionDef) -> set[str]:
    """Every plain name the function assigns (its locals), parameters included."""
    names = {arg.arg for arg in fn.args.args}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _visit(node: ast.AST, local: set[str], sig: Signature, line: int, top: ast.AST) -> None:
    """Check ``node`` and everything under it, in source order; an attribute's base is checked
    before the attribute, so ``torch.hub.load`` is refused for ``torch.hub``."""
    line = getattr(node, "lineno", line)  # operators carry no position: use their parent's
    if not isinstance(node, ast.Attribute):
        _check_node(node, local, sig, line, top)
    for child in ast.iter_child_nodes(node):
        _visit(child, local, sig, line, top)
    if isinstance(node, ast.Attribute):
        _check_node(node, local, sig, line, top)


def _check_node(node: ast.AST, local: set[str], sig: Signature, line: int, top: ast.AST) -> None:
    kind = type(node).__name__
    if not isinstance(node, ALLOWED_NODES):
        label = REFUSED_NAMES.get(kind, f"the construct {kind}")
        raise _refuse(node, f"{label} {'are' if label.endswith('s') else 'is'} not allowed", line)
    if isinstance(node, ast.FunctionDef) and node is not top:
        raise _refuse(node, "nested function definitions are not allowed")
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _refuse(node, f"names starting with '_' are not allowed ({node.id})")
        if isinstance(node.ctx, ast.Store) and (node.id in MODULES or node.id == sig.name):
            raise _refuse(node, f"'{node.id}' cannot be reassigned")
        if isinstance(node.ctx, ast.Load) and not (
            node.id in local or node.id in MODULES or node.id in BUILTINS or node.id == sig.name
        ):
            raise _refuse(node, f"the name '{node.id}' is not available here")
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            raise _refuse(node, f"attributes starting with '_' are not allowed (.{node.attr})")
        if isinstance(node.ctx, ast.Store):
            raise _refuse(node, f"assigning to an attribute (.{node.attr}) is not allowed")
        base = node.value
        if isinstance(base, ast.Name) and base.id in MODULES and base.id not in local:
            if node.attr not in MODULES[base.id]:
                raise _refuse(node, f"{base.id}.{node.attr} is not on the allowlist")
        elif node.attr not in OBJECT_ATTRIBUTES:
            raise _refuse(node, f"the attribute .{node.attr} is not on the allowlist")
    elif isinstance(node, ast.keyword) and node.arg is None:
        raise _refuse(node, "**keyword arguments are not allowed")
    elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        raise _refuse(node, "bytes literals are not allowed")
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 200:
        raise _refuse(node, "string constants longer than 200 characters are not allowed")


def check_source(source: str, sig: Signature) -> ast.Module:
    """Parse ``source`` and return its tree if the allowlist accepts it, else raise
    ``RefusedCode`` naming the first refused construct and its line."""
    if not isinstance(source, str):
        raise RefusedCode("line 1: the code must be text")
    if len(source.encode("utf-8", errors="replace")) > MAX_CODE_BYTES:
        raise RefusedCode(f"line 1: the code is longer than {MAX_CODE_BYTES // 1024} KB")
    if "\x00" in source:
        raise RefusedCode("line 1: the code contains a NUL character")
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as err:
        raise RefusedCode(f"line {err.lineno or 1}: syntax error: {err.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise RefusedCode("line 1: the code could not be parsed") from None
    body = [s for s in tree.body if not _is_docstring(s)]
    defs = [s for s in body if isinstance(s, ast.FunctionDef)]
    try:
        for stmt in body:  # anything beside the one function: name the construct, then refuse
            if not isinstance(stmt, ast.FunctionDef):
                _visit(stmt, set(), sig, stmt.lineno, stmt)
                raise _refuse(
                    stmt, f"only one function definition, def {sig.name}(...), is allowed"
                )
        if len(defs) != 1:
            where = defs[1] if defs else None
            if where is None:
                raise RefusedCode(f"line 1: write exactly one function, def {sig.name}(...)")
            raise _refuse(where, f"only one function definition, def {sig.name}(...), is allowed")
        fn = defs[0]
        _check_signature(fn, sig)
        _visit(fn, _assigned_names(fn), sig, fn.lineno, fn)
    except RecursionError:
        raise RefusedCode("line 1: the code is nested too deeply") from None
    return tree


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
