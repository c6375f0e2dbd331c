"""Question files -> Questions or `path:line: message` problems (kit.quiz.parse, the CLI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit.quiz import Problem, load_bank, load_upload, parse_file, parse_text
from kit.quiz.__main__ import main
from kit.quiz.parse import keyword_problem, split_keywords, split_level
from kit.quiz.record import MAX_FILE_BYTES, RedFlag

FIXTURES = Path(__file__).parent / "fixtures" / "quiz"
VALID = FIXTURES / "valid.md"
BAD = FIXTURES / "bad"
REPO = Path(__file__).resolve().parents[1]


def test_valid_fixture_gives_every_field():
    q, problems = parse_file(VALID)
    assert problems == []
    assert q is not None
    assert (q.id, q.title, q.topic, q.difficulty) == (
        "fixture-reparam-trick",
        "The reparameterization trick",
        "vae-foundations",
        "core",
    )
    assert q.tags == ["gradients", "sampling", "training"]
    assert q.demo == "under_the_hood.reparam_gradients"
    assert q.demo_args == {
        "f": "z^2",
        "mu": 1.0,
        "sigma": 1.0,
        "n_samples": 10,
        "repeats": 500,
        "seed": 0,
    }
    assert q.sources == ["Kingma & Welling (2014), Auto-Encoding Variational Bayes, section 2.4"]
    # Markdown kept as written, LaTeX untouched.
    assert q.question.startswith(r"Why can't we backpropagate through $z \sim q_\phi(z \mid x)$")
    assert q.question.endswith("reparameterization trick fix it?")
    assert q.answer.startswith("Drawing a sample") and q.answer.endswith("$$")
    assert len(q.hints) == 2 and q.hints[0].endswith(r"the loss and $\phi$?")
    assert q.key_points == [
        "The sample is written as a deterministic function of the parameters and independent noise",
        "Gradients flow through mu and sigma",
        "The pathwise estimate has lower variance than the score-function estimate",
    ]
    assert q.keywords == [
        [["deterministic"], ["noise", "epsilon", "eps"]],
        [["gradient"], ["mu"], ["sigma", "std"]],
        [],
    ]
    assert q.explicit_keywords == [True, True, False]
    assert q.key_point_levels == ["must", "must", "strong"]
    assert q.follow_ups[1] == "What do you do for a discrete latent variable?"
    assert q.follow_up_answers[1].startswith("a Gumbel-softmax relaxation")
    assert list(q.levels) == ["junior", "senior", "staff"]
    assert q.levels["junior"].startswith("says sampling blocks the gradient")
    assert q.levels["staff"].endswith("and what replaces it.")
    assert q.red_flags == [
        RedFlag(
            claim='"Sampling is differentiable, autograd handles it."',
            why=r"a drawn number has no recorded dependence on $\mu$ and $\sigma$.",
        )
    ]
    assert q.evidence == [
        r"The demo's estimates at $\mu = \sigma = 1$ have variance 0.40 (pathwise) and 2.94 "
        "(score function)."
    ]
    assert (q.time_box, q.roles) == (8, ["research-scientist", "research-engineer"])
    assert q.key_lines["id"] == 2 and q.key_lines["demo"] == 7 and q.key_lines["sources"] == 9
    assert q.key_lines["time_box"] == 11 and q.key_lines["roles"] == 12
    assert q.section_lines == {
        "Question": 15,
        "Answer": 19,
        "Hints": 28,
        "Key points": 32,
        "Levels": 37,
        "Red flags": 42,
        "Follow-ups": 45,
        "Evidence": 49,
    }
    assert q.key_point_lines == [33, 34, 35]
    assert q.location == f"{VALID}:2"
    assert hash(q) == hash(parse_file(VALID)[0]) and q == parse_file(VALID)[0]


# (fixture under bad/, line, a piece of the message, how many problems the file has)
BAD_CASES = [
    ("unknown-demo.md", 7, "unknown demo 'under_the_hood.reparam_gradient'", 1),
    ("unknown-demo-arg.md", 10, "takes no argument 'temperature'", 1),
    ("unsuitable-demo.md", 7, "needs a drawing", 1),
    ("demo-args-not-mapping.md", 8, "demo_args must be a mapping", 1),
    ("missing-section.md", 28, "missing section '## Hints'", 1),
    ("missing-last-section.md", 43, "missing section '## Follow-ups' (expected at the end)", 1),
    ("out-of-order.md", 44, "'## Key points' is out of order", 1),
    ("unknown-section.md", 28, "unknown section '## Hint' (did you mean 'Hints'?)", 2),
    ("duplicate-section.md", 28, "'## Answer' appears twice (first on line 19)", 1),
    ("bad-yaml.md", 5, "bad YAML in the front matter: mapping values are not allowed", 1),
    ("bad-yaml-unclosed-list.md", 7, "flow sequence started on line 6", 1),
    ("front-matter-not-mapping.md", 1, "must be YAML 'key: value' lines, got a list", 1),
    ("missing-key.md", 1, "missing front matter key 'difficulty'", 1),
    ("unknown-key.md", 9, "unknown front matter key 'source' (did you mean 'sources'?)", 1),
    ("unknown-drill.md", 13, "unknown drill 'reparametrize' (did you mean 'reparameterize'?)", 1),
    ("duplicate-key.md", 6, "key 'title' appears twice (first on line 3)", 1),
    ("empty-answer.md", 19, "section '## Answer' is empty", 1),
    ("empty-question.md", 15, "section '## Question' is empty", 1),
    ("unknown-difficulty.md", 5, "unknown difficulty 'hard'", 1),
    ("bad-id.md", 2, "id must be lower-case letters", 1),
    ("bad-tags.md", 6, "tags must be a list of text", 1),
    ("hints-not-a-list.md", 29, "must be a bullet list ('- item'), found a paragraph", 1),
    ("empty-follow-ups.md", 45, "'## Follow-ups' needs at least one '- ' item", 1),
    ("empty-item.md", 30, "empty item in '## Hints'", 1),
    ("bad-keywords.md", 34, "empty keyword in '(keywords: ...)'", 1),
    ("text-before-section.md", 15, "text before the first section", 1),
    ("no-front-matter.md", 1, "no front matter", 1),
    ("unclosed-front-matter.md", 1, "never closed", 1),
    ("empty.md", 1, "file is empty", 1),
    ("not-utf8.md", 20, "byte 0xe9 on this line is not valid UTF-8", 1),
    # the interview-grade fields
    ("time-box-out-of-range.md", 11, "time_box must be a whole number of minutes from 1 to 60", 1),
    ("time-box-not-a-number.md", 11, "(got 7.5)", 1),
    ("roles-empty.md", 12, "roles must be a non-empty list", 1),
    (
        "roles-unknown.md",
        12,
        "unknown role 'data-scientist' (did you mean 'research-scientist'?)",
        1,
    ),
    (
        "see-also-unknown.md",
        10,
        "see_also: unknown demo 'latent.encode_test_digits' (did you mean "
        "'latent.encode_test_digit'?)",
        1,
    ),
    ("see-also-own-demo.md", 9, "'under_the_hood.reparam_gradients' is already this question", 1),
    ("see-also-not-a-list.md", 9, "see_also must be a non-empty list of demo ids", 1),
    ("key-point-no-level.md", 34, "key point has no level: start it with [must]", 1),
    ("key-point-unknown-level.md", 34, "unknown key point level [should]", 1),
    ("no-must-point.md", 32, "no [must] key point", 1),
    ("levels-wrong-order.md", 38, "must start with '**Junior:**' (got '**Senior:**')", 2),
    ("levels-count.md", 37, "'## Levels' has 2 items; write exactly", 1),
    ("level-empty.md", 40, "the '**Staff:**' level says nothing", 1),
    ("red-flag-no-why.md", 43, "a red flag is 'the wrong answer. **Why it is wrong:**", 1),
    ("follow-up-no-answer.md", 46, "a follow-up is 'the question? **Answer:**", 1),
    ("keyword-bare-number.md", 35, "keyword '0.40' is a bare number", 1),
    ("keyword-measured-number.md", 35, "keyword '2.94 against' requires a measured number", 1),
    ("keyword-too-short.md", 35, "keyword 'sf' is under 3 characters", 1),
    (
        "questions/autoencoders/topic-mismatch.md",
        4,
        "topic 'vae-foundations' does not match the folder 'questions/autoencoders/'",
        1,
    ),
]


@pytest.mark.parametrize(("name", "line", "message", "count"), BAD_CASES)
def test_each_bad_fixture_reports_its_line(name, line, message, count):
    path = BAD / name
    bank = load_bank([path])
    assert bank.questions == []
    assert len(bank.problems) == count, [str(p) for p in bank.problems]
    first = str(bank.problems[0])
    assert first.startswith(f"{path}:{line}: "), first
    assert message in first


def test_every_bad_fixture_is_covered():
    listed = {name for name, *_ in BAD_CASES}
    on_disk = {
        str(p.relative_to(BAD)) for p in BAD.rglob("*.md") if p.parent.name != "duplicate-id"
    }
    assert on_disk == listed


def test_duplicate_id_points_at_the_second_file_and_names_the_first():
    bank = load_bank([BAD / "duplicate-id"])
    first, second = BAD / "duplicate-id" / "first.md", BAD / "duplicate-id" / "second.md"
    assert [q.path for q in bank.questions] == [str(first)]
    assert [str(p) for p in bank.problems] == [
        f"{second}:2: duplicate id 'same-id': first used in {first}:2"
    ]


def test_a_bad_file_never_stops_the_good_ones():
    bank = load_bank([BAD, VALID, FIXTURES / "xss"])
    assert {q.id for q in bank.questions} == {"fixture-reparam-trick", "same-id", "xss-payloads"}
    assert len(bank.problems) >= len(BAD_CASES) + 1
    assert bank.problems == sorted(bank.problems, key=lambda p: (p.path, p.line))
    assert not bank.ok


def test_file_over_the_cap(tmp_path):
    big = tmp_path / "big.md"
    text = VALID.read_text(encoding="utf-8")
    big.write_text(text + "\n<!-- padding -->" * (MAX_FILE_BYTES // 16), encoding="utf-8")
    assert big.stat().st_size > MAX_FILE_BYTES
    q, problems = parse_file(big)
    assert q is None
    assert [str(p) for p in problems] == [
        f"{big}:1: file is {big.stat().st_size:,} bytes, over the {MAX_FILE_BYTES // 1024} KiB cap: shorten it"
    ]


def test_folder_walk_is_recursive_sorted_and_skips_readme(tmp_path):
    (tmp_path / "b-topic").mkdir()
    (tmp_path / "a-topic" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    text = VALID.read_text(encoding="utf-8")
    for rel, qid in [("b-topic/one.md", "one"), ("a-topic/deep/two.md", "two")]:
        (tmp_path / rel).write_text(text.replace("fixture-reparam-trick", qid), "utf-8")
    (tmp_path / "README.md").write_text("# Not a question\n", "utf-8")
    (tmp_path / "b-topic" / "readme.md").write_text("# Not a question\n", "utf-8")
    (tmp_path / ".hidden" / "x.md").write_text("not a question", "utf-8")
    (tmp_path / "notes.txt").write_text("not markdown", "utf-8")
    bank = load_bank(tmp_path)
    assert bank.problems == []
    assert [q.id for q in bank.questions] == ["two", "one"]  # a-topic/... sorts first


def test_missing_path_is_a_problem_not_an_exception(tmp_path):
    bank = load_bank([tmp_path / "nope"])
    assert [str(p) for p in bank.problems] == [f"{tmp_path / 'nope'}:1: no such file or folder"]


def test_crlf_and_byte_order_mark_keep_line_numbers(tmp_path):
    text = (BAD / "unknown-difficulty.md").read_text(encoding="utf-8")
    path = tmp_path / "crlf.md"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    _, problems = parse_file(path)
    assert [p.line for p in problems] == [5]


def test_demo_registry_can_be_given_as_plain_argument_names():
    text = VALID.read_text(encoding="utf-8")
    demos = {"under_the_hood.reparam_gradients": {"mu": 0.0, "sigma": 1.0}}
    q, problems = parse_text(text, "q.md", demos=demos)
    assert q is None
    assert {p.message.split(";")[0] for p in problems} == {
        f"demo 'under_the_hood.reparam_gradients' takes no argument {name!r}"
        for name in ("f", "n_samples", "repeats", "seed")
    }
    assert {p.line for p in problems} == {8}


def test_folder_topic_rule_only_applies_under_questions(tmp_path):
    text = VALID.read_text(encoding="utf-8")
    _, ok = parse_text(text, "q.md", folder_topic="vae-foundations")
    _, wrong = parse_text(text, "q.md", folder_topic="practice")
    assert ok == []
    assert [str(p) for p in wrong] == [
        "q.md:4: topic 'vae-foundations' does not match the folder 'questions/practice/': "
        "change the topic or move the file"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "---\n!!python/object/apply:os.system [echo hi]\n---\n",
        "---\nid: &a [*a, *a]\n---\n## Question\n",
        "---\n: :\n---\n",
        "---\nid: x\n\ttitle: tab\n---\n",
        "---\n" + "[" * 5000 + "\n---\n",
        "---\nid: x\n---\n## Question\n$$\n\\frac{1}{2\n",
        "---\n---\n" + "> " * 3000 + "deep\n",
        "## Question\n## Question\n## Answer\n",
        "\n\n---\nid: x\n---\n",
        "---\nid: [1, 2]\ntitle: {a: b}\ntopic: 3\ndifficulty: [core]\ntags: [1]\n"
        "demo: 5\ndemo_args: x\nsources: [{}]\n---\n",
    ],
)
def test_hostile_text_gives_problems_never_an_exception(text):
    q, problems = parse_text(text, "hostile.md")
    assert q is None
    assert problems
    assert all(isinstance(p, Problem) and p.line >= 1 for p in problems)


def test_split_keywords():
    assert split_keywords("Noise is separate (keywords: noise/eps, Deterministic )") == (
        "Noise is separate",
        [["noise", "eps"], ["deterministic"]],
    )
    assert split_keywords("No list here") == ("No list here", None)
    with pytest.raises(ValueError, match="empty keyword"):
        split_keywords("Point (keywords: a, b/)")
    with pytest.raises(ValueError, match="no text"):
        split_keywords("(keywords: a)")


@pytest.mark.parametrize(
    ("alternative", "reason"),
    [
        ("784", "bare number"),
        ("50%", "bare number"),
        ("10 10 6 4", "bare number"),
        ("6.81 nats", "measured number"),
        ("k", "under 3 characters"),
        ("ae", "under 3 characters"),
        ("ᾱ", "under 3 characters"),
        ("kl", None),  # the whitelisted abbreviation
        ("mu", None),  # a Greek letter as the coverage check spells it
        ("β", None),  # spelled "beta" before matching, so long enough
        ("ln 2", None),  # a number inside words is fine
        ("2-d", None),
        ("l2", "under 3 characters"),  # write "l2 norm" or "squared error"
    ],
)
def test_keyword_problem(alternative, reason):
    found = keyword_problem(alternative)
    assert (found is None) if reason is None else (reason in found)


def test_split_level():
    assert split_level("[must] Text") == ("must", "Text")
    assert split_level("[Bonus]  Text") == ("bonus", "Text")
    assert split_level("Text [must]") == (None, "Text [must]")
    with pytest.raises(ValueError, match=r"did you mean 'must'"):
        split_level("[mus] Text")


def _with_front_matter_line(line: str) -> str:
    """The valid fixture's text with one more front matter line, after ``roles`` (line 13)."""
    lines = VALID.read_text(encoding="utf-8").split("\n")
    assert lines[12] == "---"
    return "\n".join([*lines[:12], line, *lines[12:]])


def test_drill_names_a_code_drill_of_the_catalog():
    from kit.drills.catalog import all_drills

    assert parse_file(VALID)[0].drill is None  # optional
    q, problems = parse_text(_with_front_matter_line("drill: gaussian_kl"), "q.md")
    assert problems == [] and q.drill == "gaussian_kl" and q.key_lines["drill"] == 13
    _, problems = parse_text(_with_front_matter_line("drill: [gaussian_kl]"), "q.md")
    assert [str(p) for p in problems] == [
        "q.md:13: unknown drill ['gaussian_kl']; the drills are " + ", ".join(all_drills())
    ]
    _, problems = parse_text(_with_front_matter_line("drill: gausian_kl"), "q.md")
    assert "(did you mean 'gaussian_kl'?)" in str(problems[0])


def test_roles_twice_and_time_box_bool_are_problems():
    text = VALID.read_text(encoding="utf-8")
    twice = text.replace(
        "roles: [research-scientist, research-engineer]", "roles: [ml-engineer, ml-engineer]"
    )
    assert [str(p) for p in parse_text(twice, "q.md")[1]] == ["q.md:12: roles lists a role twice"]
    yes = text.replace("time_box: 8", "time_box: true")
    assert [p.line for p in parse_text(yes, "q.md")[1]] == [11]


def test_evidence_is_optional():
    text = VALID.read_text(encoding="utf-8")
    q, problems = parse_text(text[: text.index("\n## Evidence")] + "\n", "q.md")
    assert problems == [] and q is not None and q.evidence == []


def test_problem_str():
    assert (
        str(Problem("questions/x/y.md", 7, "what is wrong")) == "questions/x/y.md:7: what is wrong"
    )


# --- uploads ---


def test_upload_shows_file_names_and_rejects_taken_ids(tmp_path):
    upload = tmp_path / "gradio" / "3f9a0c"
    upload.mkdir(parents=True)
    shutil.copy(VALID, upload / "mine.md")
    (upload / "notes.txt").write_text("hello", "utf-8")
    bank = load_upload(
        [upload / "mine.md", upload / "notes.txt"], existing_ids={"fixture-reparam-trick"}
    )
    assert bank.questions == []
    assert [str(p) for p in bank.problems] == [
        "mine.md:2: duplicate id 'fixture-reparam-trick': a bundled question already uses it",
        "notes.txt:1: not a question file: the name must end in .md",
    ]
    assert [q.id for q in load_upload([upload / "mine.md"]).questions] == ["fixture-reparam-trick"]


def test_upload_caps_on_files_and_bytes(tmp_path):
    text = VALID.read_text(encoding="utf-8")
    for i in range(3):
        (tmp_path / f"q{i}.md").write_text(text.replace("fixture-reparam-trick", f"q{i}"))
    too_many = load_upload(tmp_path, max_files=2)
    assert too_many.questions == []
    assert [p.message for p in too_many.problems] == [
        "too many files: 3 question files, at most 2 at once"
    ]
    too_big = load_upload(tmp_path, max_bytes=2 * len(text))
    assert too_big.questions == []
    assert too_big.problems[0].message.startswith("upload too big")
    fine = load_upload(tmp_path)
    assert (fine.ok, len(fine.questions)) == (True, 3)
    assert [q.path for q in fine.questions] == [f"{tmp_path.name}/q{i}.md" for i in range(3)]


def test_upload_of_nothing():
    bank = load_upload(None)
    assert bank.questions == [] and bank.problems[0].message.startswith("nothing uploaded")


# --- the command line ---


def test_cli_check_ok(capsys):
    assert main(["check", str(VALID), str(FIXTURES / "xss")]) == 0
    assert capsys.readouterr().out == "ok: 2 questions in 2 topics\n"


def test_cli_check_prints_problems_and_exits_1(capsys):
    assert main(["check", str(BAD / "bad-yaml.md"), str(VALID)]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        f"{BAD / 'bad-yaml.md'}:5: bad YAML in the front matter: mapping values are not allowed here"
    ]
    assert "1 problem" in out.err


def test_cli_bad_path_exits_2(capsys, tmp_path):
    assert main(["check", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: no such file or folder: {tmp_path / 'nope'}\n"


def test_cli_help_and_missing_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "check" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_cli_anki_writes_a_file_and_refuses_a_bad_bank(tmp_path, capsys):
    out = tmp_path / "deck.csv"
    assert main(["anki", str(VALID), "--out", str(out), "--deck", "Latent Lab"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[:4] == ["#separator:Comma", "#html:true", "#tags column:3", "#deck:Latent Lab"]
    assert main(["anki", str(BAD / "bad-tags.md"), "--out", str(tmp_path / "no.csv")]) == 1
    assert not (tmp_path / "no.csv").exists()


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "kit.quiz", "check", str(BAD / "empty.md")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        result.stdout
        == f"{BAD / 'empty.md'}:1: file is empty: a question needs front matter and sections\n"
    )
    assert "Traceback" not in result.stderr


def test_bundled_bank_has_no_problems():
    bank = load_bank()
    assert bank.problems == [], "\n".join(str(p) for p in bank.problems)


def test_bundled_key_points_all_have_written_keywords():
    missing = [
        f"{q.path}:{line}"
        for q in load_bank().questions
        for line, explicit in zip(q.key_point_lines, q.explicit_keywords, strict=True)
        if not explicit
    ]
    assert missing == [], "key points without '(keywords: ...)':\n" + "\n".join(missing)


def test_see_also_links_the_encoder_view_from_the_reparameterization_and_elbo_questions():
    from kit.quiz.study import answer_html
    from kit.ui.quiz_tab import bundled_bank

    by_id = {q.id: q for q in bundled_bank().questions}
    for qid in ("reparameterization-trick", "elbo-derivation", "elbo-why"):
        q = by_id[qid]
        assert q.see_also == ["latent.encode_test_digit"], qid
        back = answer_html(q)
        assert '<a href="?demo=latent.encode_test_digit" target="_blank"' in back, qid
        assert "5 · See the encoder think" in back
