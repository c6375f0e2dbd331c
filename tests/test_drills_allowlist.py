"""Sandbox layer 1 on its own: the ``ast`` allowlist refuses every escape attempt, naming the
construct and its line, and accepts ordinary tensor code."""

from __future__ import annotations

import pytest

from kit.drills.allowlist import MAX_CODE_BYTES, RefusedCode, Signature, check_source

SIG = Signature("lerp", ("z_a", "z_b", "t"))


def body(*lines: str) -> str:
    """A submission for ``lerp`` whose body is ``lines`` (the first is on line 2)."""
    return "def lerp(z_a, z_b, t):\n" + "".join(f"    {ln}\n" for ln in lines)


#: (label, code, the words the refusal must contain, the line it must name)
ESCAPES = [
    ("import", body("import os", "return z_a"), "imports are not allowed", 2),
    ("from-import", body("from os import system", "return z_a"), "imports", 2),
    ("import-as", body("import torch.hub as h", "return z_a"), "imports", 2),
    ("top-level import", "import os\n" + body("return z_a"), "imports", 1),
    ("__import__", body("m = __import__('os')", "return z_a"), "'_' are not allowed", 2),
    ("mro walk", body("k = ().__class__.__mro__[1].__subclasses__()", "return z_a"),
     "'_' are not allowed", 2),
    ("tensor dunder", body("k = z_a.__class__", "return z_a"), "(.__class__)", 2),
    ("getattribute by string", body("g = z_a.__getattribute__('grad')", "return z_a"), "'_'", 2),
    ("getattr", body("f = getattr(torch, 'lo' + 'ad')", "return z_a"),
     "the name 'getattr' is not available", 2),
    ("getattr chain", body("f = getattr(getattr(torch, 'hub'), 'load')", "return z_a"),
     "'getattr'", 2),
    ("setattr", body("setattr(z_a, 'x', 1)", "return z_a"), "'setattr'", 2),
    ("torch.load", body("w = torch.load('/etc/passwd')", "return z_a"),
     "torch.load is not on the allowlist", 2),
    ("torch.hub.load", body("m = torch.hub.load('a/b', 'c')", "return z_a"), "torch.hub", 2),
    ("cpp_extension", body("m = torch.utils.cpp_extension.load_inline('x', '')", "return z_a"),
     "torch.utils", 2),
    ("torch.ops", body("y = torch.ops.aten.add(z_a, z_b)", "return y"), "torch.ops", 2),
    ("torch.classes", body("y = torch.classes", "return z_a"), "torch.classes", 2),
    ("torch.jit", body("f = torch.jit.script", "return z_a"), "torch.jit", 2),
    ("torch.compile", body("f = torch.compile", "return z_a"), "torch.compile", 2),
    ("torch.backends", body("b = torch.backends", "return z_a"), "torch.backends", 2),
    ("torch.save", body("torch.save(z_a, 'x.pt')", "return z_a"), "torch.save", 2),
    ("torch.from_file", body("y = torch.from_file('/etc/passwd')", "return y"), "from_file", 2),
    ("module alias", body("t2 = torch", "return t2.load('x')"), ".load is not on the allowlist", 3),
    ("F.torch", body("y = F.torch.load('x')", "return y"), "F.torch", 2),
    ("torch.nn", body("m = torch.nn.Module()", "return z_a"), "torch.nn", 2),
    ("grad_fn walk", body("g = z_a.grad_fn.next_functions", "return z_a"), ".grad_fn", 2),
    ("untyped storage", body("s = z_a.untyped_storage()", "return z_a"), ".untyped_storage", 2),
    ("numpy", body("a = z_a.numpy()", "return z_a"), ".numpy", 2),
    ("str.format", body("s = '{0.__class__}'.format(z_a)", "return z_a"), ".format", 2),
    ("f-string", body("s = f'{z_a}'", "return z_a"), "f-strings", 2),
    ("eval", body("return eval('z_a')"), "'eval'", 2),
    ("exec", body("exec('x = 1')", "return z_a"), "'exec'", 2),
    ("compile", body("c = compile('1', 'f', 'eval')", "return z_a"), "'compile'", 2),
    ("open for reading", body("s = open('/etc/passwd').read()", "return z_a"), "'open'", 2),
    ("file write", body("open('x', 'w').write('pwned')", "return z_a"), "'open'", 2),
    ("environment read", body("k = os.environ['HF_TOKEN']", "return z_a"), "'os'", 2),
    ("globals", body("g = globals()", "return z_a"), "'globals'", 2),
    ("vars", body("v = vars()", "return z_a"), "'vars'", 2),
    ("type", body("k = type(z_a)", "return z_a"), "'type'", 2),
    ("print", body("print(z_a)", "return z_a"), "'print'", 2),
    ("breakpoint", body("breakpoint()", "return z_a"), "'breakpoint'", 2),
    ("decorator", "@torch.no_grad()\n" + body("return z_a"), "decorators", 1),
    ("class definition", body("class A:", "    pass", "return z_a"), "class definitions", 2),
    ("top-level class", "class A:\n    pass\n" + body("return z_a"), "class definitions", 1),
    ("nested function", body("def g():", "    return 1", "return z_a"), "nested function", 2),
    ("lambda capturing a default", body("f = lambda m=torch: m", "return z_a"), "lambda", 2),
    ("default argument", "def lerp(z_a, z_b, t=torch):\n    return z_a\n", "default", 1),
    ("with", body("with torch.no_grad():", "    y = z_a", "return z_a"), "'with' blocks", 2),
    ("try", body("try:", "    y = 1", "except Exception:", "    y = 2", "return z_a"),
     "try/except", 2),
    ("raise", body("raise ValueError('x')"), "raise", 2),
    ("global", body("global torch", "return z_a"), "'global'", 2),
    ("yield", body("yield z_a"), "generators", 2),
    ("generator frame", body("f = (x for x in ()).gi_frame.f_back", "return z_a"),
     "generator expressions", 2),
    ("list comprehension", body("y = [x for x in z_a]", "return z_a"), "comprehensions", 2),
    ("dict literal", body("d = {'a': 1}", "return z_a"), "dict literals", 2),
    ("**kwargs", body("y = torch.zeros(3, **z_b)", "return y"), "**keyword", 2),
    ("attribute store", body("z_a.requires_grad = False", "return z_a"), "assigning to an attribute", 2),
    ("rebinding torch", body("torch = z_a", "return z_a"), "'torch' cannot be reassigned", 2),
    ("del", body("del z_a", "return z_b"), "del", 2),
    ("walrus", body("return (y := z_a)"), ":=", 2),
    ("bytes literal", body("b = b'abc'", "return z_a"), "bytes", 2),
    ("is comparison", body("if t is None:", "    t = 0.5", "return z_a"), "'is'", 2),
    ("extra statement", "x = 1\n" + body("return z_a"), "only one function", 1),
    ("two functions", body("return z_a") + "def lerp2(a):\n    return a\n", "only one function", 3),
    ("wrong name", "def interp(z_a, z_b, t):\n    return z_a\n", "must be called 'lerp'", 1),
    ("wrong signature", "def lerp(a, b, t):\n    return a\n", "signature must be", 1),
    ("star args", "def lerp(*args):\n    return 1\n", "signature must be", 1),
    ("syntax error", "def lerp(z_a, z_b, t):\n    return (\n", "syntax error", 2),
]  # fmt: skip


@pytest.mark.parametrize("label,code,words,line", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escape_attempt_is_refused_naming_construct_and_line(label, code, words, line):
    with pytest.raises(RefusedCode) as info:
        check_source(code, SIG)
    message = str(info.value)
    assert message.startswith(f"line {line}: "), message
    assert words in message, message


def test_at_least_thirty_escape_attempts():
    assert len(ESCAPES) >= 30


def test_code_over_the_size_cap_is_refused_before_parsing():
    code = body("return z_a") + "#" * MAX_CODE_BYTES
    with pytest.raises(RefusedCode, match="longer than 8 KB"):
        check_source(code, SIG)


def test_deeply_nested_expression_is_refused_not_crashing():
    code = body("return " + "(" * 5000 + "z_a" + ")" * 5000)[: MAX_CODE_BYTES - 10]
    with pytest.raises(RefusedCode):
        check_source(code, SIG)


@pytest.mark.parametrize(
    "code",
    [
        body("return (1 - t) * z_a + t * z_b"),
        body('"""Docstring."""', "w = torch.tensor([1.0 - t, t])", "return w[0] * z_a + w[1] * z_b"),
        body("y = z_a.clone()", "for i in range(len(y)):", "    y[i] = y[i] + t * (z_b[i] - y[i])",
             "return y"),
        body("if t <= 0:", "    return z_a", "elif t >= 1 and True:", "    return z_b",
             "return torch.lerp(z_a, z_b, t)"),
        body("n = math.sqrt(float((z_a * z_a).sum().item()))", "return z_a + t * (z_b - z_a) * n / n"),
        "def lerp(z_a: torch.Tensor, z_b: torch.Tensor, t: float) -> torch.Tensor:\n"
        "    return z_a + t * (z_b - z_a)\n",
    ],
)  # fmt: skip
def test_ordinary_tensor_code_is_accepted(code):
    check_source(code, SIG)
