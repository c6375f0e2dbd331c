"""The Quiz tab's handlers and the bundled bank, called without a browser."""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from kit.demos.registry import get_demo
from kit.quiz.progress import new_progress
from kit.ui import build_app_and_links
from kit.ui import quiz_bank as bank
from kit.ui import quiz_demo as qd
from kit.ui import quiz_interview as ivt
from kit.ui import quiz_study as st
from kit.ui import quiz_tab as qt

ROOT = Path(__file__).resolve().parents[1]
BANK = qt.bundled_bank()
QUESTIONS = BANK.questions


@pytest.fixture(scope="module")
def links():
    return build_app_and_links()[1]


# ---- the bundled bank ---------------------------------------------------------------------


def test_bank_is_big_valid_and_covers_every_topic():
    assert BANK.problems == []
    assert len(QUESTIONS) >= 40
    topics = {q.topic for q in QUESTIONS}
    assert topics == {
        "autoencoders",
        "vae-foundations",
        "training-dynamics",
        "beta-and-conditioning",
        "generative-models",
        "practice",
        "coding",
        "likelihoods",
        "gradient-estimators",
        "disentanglement",
        "prior-matching",
        "tokenizers",
        "representation-learning",
        "evaluation",
        "learned-priors",
        "hierarchical",
        "system-design",
    }
    assert {q.difficulty for q in QUESTIONS} == {"warm-up", "core", "deep"}


def test_every_question_has_a_claim_test():
    claimed = set()
    for path in (ROOT / "tests").glob("test_claims_*.py"):
        claimed |= set(re.findall(r"claim\(\s*[\"']([a-z0-9-]+)[\"']\s*\)", path.read_text()))
    missing = sorted({q.id for q in QUESTIONS} - claimed)
    assert missing == [], f"questions without a teaching-truth test: {missing}"
    assert claimed <= {q.id for q in QUESTIONS}, "a claim test names an unknown question"


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_every_question_opens_its_demo_with_its_preset(q, links):
    spec = get_demo(q.demo)
    link = links[q.demo]
    tab, updates = qd.open_in_tab(q, link)
    assert tab == spec.tab
    for name, value in q.demo_args.items():
        if name in link.inputs:
            p = spec.param(name)
            assert updates[link.inputs[name]] == p.widget_value(p.coerce(value))
    if link.section is not None:
        assert updates[link.section].open is True  # the section holding it opens
    inline = qd.inline_result(q)
    if spec.trains:  # set up only (the learner presses Train); it still runs
        assert "Train" in inline["note"]
        assert spec.run_preset(q.demo_args)["after"].shape[0] > 1
        return
    shown = [c for c in link.outputs.values() if c in updates]
    assert shown or not link.outputs  # and its outputs show the result
    assert inline["images"] or inline["figure"] is not None or inline["text"]


# ---- study mode ---------------------------------------------------------------------------


def test_study_session_grades_and_moves_on():
    progress = new_progress()
    before = copy.deepcopy(progress)
    card = st.show_next_card(progress, [], [], [], None, [])
    assert card["current"] in {q.id for q in QUESTIONS}
    graded = st.grade_card(progress, card["current"], "good", [])
    assert progress == before  # the handler never mutates the stored value
    assert card["current"] in graded["progress"]["cards"]
    assert "1" in graded["stats"]
    nxt = st.show_next_card(graded["progress"], [], [], [], card["current"], [])
    assert nxt["current"] != card["current"]  # a graded card is not due again at once


def test_again_comes_back_sooner_than_easy():
    a, b = QUESTIONS[0].id, QUESTIONS[1].id
    p = st.grade_card(new_progress(), a, "again", [])["progress"]
    p = st.grade_card(p, b, "easy", [])["progress"]
    assert p["cards"][a]["due"] < p["cards"][b]["due"]


def test_filters_narrow_the_cards():
    topic = QUESTIONS[-1].topic
    for _ in range(3):
        card = st.show_next_card(new_progress(), [topic], ["core", "deep", "warm-up"], [], None, [])
        assert qt.find_question(card["current"], []).topic == topic
    with pytest.raises(gr.Error, match="No question matches"):
        st.show_next_card(new_progress(), [topic], [], ["no-such-tag"], None, [])


def test_reveal_ticks_the_key_points_the_typed_answer_covers():
    q = next(q for q in QUESTIONS if q.keywords and all(q.keywords))
    words = " ".join(group[0] for groups in q.keywords for group in groups)
    full = st.reveal_answer(q.id, words, [])["back"]
    empty = st.reveal_answer(q.id, "I am not sure", [])["back"]
    n = len(q.key_points)
    assert f"covered: {n} of {n}" in full
    assert f"covered: 0 of {n}" in empty


def test_hints_come_one_at_a_time():
    q = next(q for q in QUESTIONS if len(q.hints) >= 2)
    one = st.show_hint(q.id, 0, [])
    two = st.show_hint(q.id, one["shown"], [])
    assert (one["shown"], two["shown"]) == (1, 2)
    assert "Hint 1" in one["hints"] and "Hint 2" not in one["hints"] and "Hint 2" in two["hints"]


def test_an_error_mid_session_changes_nothing():
    progress = st.grade_card(new_progress(), QUESTIONS[0].id, "good", [])["progress"]
    snapshot = copy.deepcopy(progress)
    with pytest.raises(gr.Error):
        st.grade_card(progress, None, "good", [])  # no card on screen
    with pytest.raises(gr.Error):
        st.grade_card(progress, QUESTIONS[1].id, "brilliant", [])  # not a grade
    assert progress == snapshot


def test_progress_export_import_round_trip(tmp_path):
    p = st.grade_card(new_progress(), QUESTIONS[2].id, "hard", [])["progress"]
    path = st.export_progress_file(p)
    back = st.import_progress_file(path, [])["progress"]
    assert back == p


@pytest.mark.parametrize(
    "content",
    [b"not json", b'{"format": "something-else"}', b"\xff\xfe\x00", json.dumps([1, 2]).encode()],
)
def test_a_bad_progress_file_is_refused(tmp_path, content):
    path = tmp_path / "progress.json"
    path.write_bytes(content)
    with pytest.raises(gr.Error, match="not imported"):
        st.import_progress_file(str(path), [])


def test_corrupted_browser_state_starts_fresh():
    assert st.load_progress({"cards": "garbage"}) == new_progress()
    assert st.load_progress(None) == new_progress()


# ---- your own questions -------------------------------------------------------------------


def test_uploaded_questions_join_the_bank_and_errors_name_file_and_line(tmp_path):
    good = next(ROOT.glob("tests/fixtures/quiz/valid*.md"))
    bad = tmp_path / "broken.md"
    bad.write_text("---\nid: [unclosed\n---\n", encoding="utf-8")
    out = bank.upload_questions([str(good), str(bad)], [])
    assert len(out["user_questions"]) == 1
    assert re.search(r"broken\.md:\d+: ", out["report"])
    mine = out["user_questions"]
    assert mine[0].id in bank.bank_table(mine)
    card = st.show_next_card(new_progress(), [mine[0].topic], [], [], None, mine)
    assert card["current"] is not None
    assert len(qt.all_questions(mine)) == len(QUESTIONS) + 1  # the bundled bank still loads


def test_anki_export_has_a_row_per_question():
    text = Path(bank.anki_file([])).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(rows) >= len(QUESTIONS)  # answers may span lines inside quotes


# ---- interview mode -----------------------------------------------------------------------


def test_interview_session_to_summary():
    q1, q2 = QUESTIONS[0], QUESTIONS[5]
    out = ivt.start_interview([q1.id, q2.id], [], [])
    assert "Question 1 of 2" in out["stage"] and html.escape(q1.title) in out["stage"]
    out = ivt.interview_hint(out["session"], [], "", [])
    assert "Hint 1" in out["hints"]
    out = ivt.interview_next(out["session"], [0], "explained <b>well</b>", [])
    assert html.escape(q2.title) in out["stage"]
    out = ivt.interview_finish(out["session"], [], "", [])
    summary = out["summary"]
    assert q1.title in summary and q2.title in summary
    assert "<b>" not in summary  # notes are escaped
    assert "1/" in summary.replace(" ", "") or "1 of" in summary
    assert "finished" in ivt.interview_clock(out["session"])
    assert Path(ivt.interview_summary_file(out["session"], [])).read_text().startswith("#")


def test_interview_by_topic_and_errors():
    topic = QUESTIONS[0].topic
    out = ivt.start_interview([], [topic], [])
    n = sum(q.topic == topic for q in QUESTIONS)
    assert f"of {n}" in out["stage"]
    with pytest.raises(gr.Error, match="Pick at least one"):
        ivt.start_interview([], [], [])
    with pytest.raises(gr.Error, match="Start an interview"):
        ivt.interview_next(None, [], "", [])


def test_inline_results_are_data_for_the_card():
    q = next(q for q in QUESTIONS if not get_demo(q.demo).trains)
    out = qd.inline_result(q)
    assert set(out) == {"note", "images", "figure", "text"}
    assert q.demo in out["note"]
    images = out["images"] or []
    assert all(isinstance(img, np.ndarray) for img, _ in images)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.md", b"---\n" + b"x" * (70 * 1024), "KiB"),
        ("empty.md", b"", "empty"),
        ("binary.md", bytes(range(256)) * 4, "UTF-8"),
        ("latin1.md", "---\nid: caf\xe9\n---\n".encode("latin-1"), "UTF-8"),
    ],
    ids=["oversized", "empty", "binary", "non-utf8"],
)
def test_bad_question_uploads_get_a_file_line_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    out = bank.upload_questions([str(path)], [])
    assert out["user_questions"] == []
    line = re.search(rf"{re.escape(name)}:(\d+): (.*)", out["report"])
    assert line, out["report"]
    assert message.lower() in line.group(2).lower()


def test_a_folder_upload_keeps_its_questions_and_skips_other_files(tmp_path):
    good = next(ROOT.glob("tests/fixtures/quiz/valid*.md"))
    (tmp_path / "q.md").write_bytes(good.read_bytes())
    (tmp_path / "figure.png").write_bytes(b"\x89PNG")
    out = bank.upload_questions([str(tmp_path / "q.md"), str(tmp_path / "figure.png")], [])
    assert len(out["user_questions"]) == 1
    assert "Skipped 1 file" in out["report"]
    with pytest.raises(gr.Error, match=r"No \.md"):
        bank.upload_questions([str(tmp_path / "figure.png")], [])
