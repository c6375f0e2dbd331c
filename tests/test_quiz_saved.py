"""A learner's own question files kept in the browser (kit.quiz.saved) and the Question bank's
upload, restore and remove handlers: round trip, caps, corrupt entries, removal."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import gradio as gr
import pytest

from kit.quiz import saved as sv
from kit.quiz.progress import grade, new_progress
from kit.quiz.record import MAX_FILE_BYTES
from kit.ui import edge
from kit.ui import quiz_bank as bank
from kit.ui import quiz_study as st
from kit.ui.quiz_tab import all_questions, bundled_bank

VALID = Path(__file__).parent / "fixtures" / "quiz" / "valid.md"
BUNDLED = [q.id for q in bundled_bank().questions]
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _text(qid: str, pad: int = 0) -> str:
    """The valid fixture under another id, optionally padded (in its answer) to grow it."""
    text = VALID.read_text(encoding="utf-8").replace("id: fixture-reparam-trick", f"id: {qid}")
    return text.replace("## Answer\n", "## Answer\n" + "word " * (pad // 5) + "\n", 1)


def _files(tmp_path: Path, *ids: str) -> list[str]:
    paths = []
    for qid in ids:
        path = tmp_path / f"{qid}.md"
        path.write_text(_text(qid), encoding="utf-8")
        paths.append(str(path))
    return paths


def _through_the_browser(value):
    """What the page-load event gets back: the value as JSON and parsed again."""
    return json.loads(json.dumps(value))


def _value(*entries) -> dict:
    return {**sv.empty_value(), "files": list(entries)}


# ---- round trip ---------------------------------------------------------------------------


def test_uploaded_files_come_back_from_the_browser_as_the_same_questions(tmp_path):
    out = bank.upload_questions(_files(tmp_path, "mine-one", "mine-two"), [], {})
    assert [q.id for q in out["user_questions"]] == ["mine-one", "mine-two"]
    assert out["left_out"] == [] and "kept in this browser" in out["report"]
    assert [f["name"] for f in out["saved"]["files"]] == ["mine-one.md", "mine-two.md"]
    back = bank.restore_questions(_through_the_browser(out["saved"]))
    assert back["user_questions"] == out["user_questions"]  # every field, parsed again
    assert back["sources"] == out["sources"]
    assert "saved" not in back  # nothing dropped: the stored value is not rewritten
    assert len(all_questions(back["user_questions"])) == len(BUNDLED) + 2


def test_a_reupload_replaces_the_saved_file_in_place(tmp_path):
    first = bank.upload_questions(_files(tmp_path, "mine-one", "mine-two"), [], {})
    changed = tmp_path / "again" / "mine-one.md"
    changed.parent.mkdir()
    changed.write_text(_text("mine-one").replace("title: The", "title: Changed,"), "utf-8")
    out = bank.upload_questions([str(changed)], first["user_questions"], first["sources"])
    assert [q.id for q in out["user_questions"]] == ["mine-one", "mine-two"]
    back = bank.restore_questions(_through_the_browser(out["saved"]))
    assert back["user_questions"][0].title.startswith("Changed, ")
    assert len(back["user_questions"]) == 2


def test_nothing_saved_is_nothing_to_restore_and_no_warning(recwarn):
    for stored in (None, {}, "", sv.empty_value()):
        back = bank.restore_questions(stored)
        assert back["user_questions"] == [] and "saved" not in back
    assert not [w for w in recwarn if "saved question files" in str(w.message)]


# ---- caps -----------------------------------------------------------------------------------


def test_files_past_the_browser_cap_stay_on_this_page_only(tmp_path):
    big = 15 * 1024  # just under MAX_FILE_BYTES each
    n = sv.MAX_SAVED_BYTES // big + 3
    paths = []
    for i in range(n):
        path = tmp_path / f"big-{i:02d}.md"
        path.write_text(_text(f"big-{i:02d}", pad=big - 2400), encoding="utf-8")
        assert big - 1024 < path.stat().st_size <= MAX_FILE_BYTES
        paths.append(str(path))
    small = tmp_path / "small.md"
    small.write_text(_text("small"), encoding="utf-8")
    out = bank.upload_questions([*paths, str(small)], [], {})
    assert len(out["user_questions"]) == n + 1  # the page keeps them all
    size = len(json.dumps(out["saved"], ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= sv.MAX_SAVED_BYTES + 100
    assert 0 < len(out["left_out"]) < n
    assert "small" not in out["left_out"]  # a smaller file after a full one still fits
    assert f"{len(out['left_out'])} of your questions are on this page only" in out["report"]
    labels = dict((v, k) for k, v in bank.file_choices(out["user_questions"], out["left_out"]))
    assert labels[out["left_out"][0]].endswith("(this page only)")
    assert not labels["small"].endswith("(this page only)")
    back = bank.restore_questions(_through_the_browser(out["saved"]))
    assert [q.id for q in back["user_questions"]] == [
        q.id for q in out["user_questions"] if q.id not in out["left_out"]
    ]


def test_full_progress_and_full_saved_files_fit_one_request_together():
    sys.path.insert(0, str(Path(__file__).parent))
    from test_hardening import _full_progress

    entry = {"name": "x" * 190 + ".md", "text": "é" * (MAX_FILE_BYTES // 2)}  # 2 bytes each
    per = sv._json_bytes(entry)
    full = _value(*[entry] * (sv.MAX_SAVED_BYTES // per))
    both = {"data": [_full_progress(), full]}
    assert len(json.dumps(both, ensure_ascii=False).encode()) < 0.95 * edge.MAX_JSON_BODY
    # one more entry is over the cap: restore leaves it out, and says so
    back = sv.restore(_value(*[entry] * (sv.MAX_SAVED_BYTES // per + 1)), BUNDLED)
    assert back.changed and len(back.problems) >= 1
    assert any("KiB this browser keeps" in p for p in back.problems)


def test_more_entries_than_a_page_holds_are_counted_not_walked():
    good = {"name": "mine.md", "text": _text("mine")}
    flood = _value(good, *[{"name": "x.md", "text": ""}] * 1_000_000)
    back = sv.restore(flood, BUNDLED)
    assert [q.id for q in back.questions] == ["mine"]
    assert back.problems[0] == f"{1_000_001 - sv.MAX_SAVED_FILES} file(s) past the first 200"
    assert len(back.problems) == sv.MAX_SAVED_FILES  # the 199 empty ones kept, each reported


# ---- corrupt entries ------------------------------------------------------------------------

GOOD = {"name": "good.md", "text": _text("good-one")}


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("not a dict", "entry 1: not a file"),
        ({"name": "../../etc/passwd.md", "text": "x"}, "entry 1: no valid file name"),
        ({"name": "notes.txt", "text": "x"}, "entry 1: no valid file name"),
        ({"name": "a\nb.md", "text": "x"}, "entry 1: no valid file name"),
        ({"name": "x" * 300 + ".md", "text": "x"}, "entry 1: no valid file name"),
        ({"name": "a.md", "text": 42}, "a.md: no text"),
        ({"name": "a.md", "text": "x", "path": "/tmp/x"}, "a.md: unexpected fields"),
        ({"name": "a.md", "text": "x" * (MAX_FILE_BYTES + 1)}, "a.md: over the 16 KiB cap"),
        ({"name": "a.md", "text": "é" * (MAX_FILE_BYTES // 2 + 1)}, "a.md:1: file is"),
        ({"name": "a.md", "text": "\ud800 lone"}, "a.md: text that is not valid Unicode"),
        ({"name": "a.md", "text": "   "}, "a.md:1: file is empty"),
        ({"name": "a.md", "text": "---\nid: [unclosed\n---\n"}, "a.md:"),
        ({"name": "a.md", "text": "![" * 800}, "a.md:1: file has 800 '['"),
        ({"name": "a.md", "text": _text(BUNDLED[0])}, "already uses it"),
        ({"name": "<i>x.md", "text": "x"}, "&lt;i&gt;x.md:1:"),
    ],
    ids=[
        "not-a-dict",
        "a-path",
        "not-md",
        "control-char",
        "long-name",
        "no-text",
        "extra-field",
        "oversized",
        "oversized-utf8",
        "lone-surrogate",
        "blank",
        "bad-yaml",
        "over-budget",
        "bundled-id",
        "html-name",
    ],
)
def test_a_corrupt_entry_is_dropped_with_a_reason_and_the_rest_load(entry, why, recwarn):
    back = bank.restore_questions(_value(entry, GOOD))
    assert [q.id for q in back["user_questions"]] == ["good-one"]
    assert back["saved"] == _value(GOOD)  # the browser's copy is cleaned
    warned = [str(w.message) for w in recwarn if "saved question files" in str(w.message)]
    assert len(warned) == 1 and why in warned[0], warned
    assert "Your study progress is unchanged" in warned[0]


@pytest.mark.parametrize(
    "stored",
    [
        "garbage",
        [GOOD],
        {"format": "latent-lab-quiz-progress", "version": 1, "files": [GOOD]},
        {**sv.empty_value(), "version": 2},
        {**sv.empty_value(), "files": {"good.md": "x"}},
    ],
    ids=["string", "list", "wrong-format", "future-version", "files-not-a-list"],
)
def test_a_corrupt_value_is_reset_with_a_warning(stored, recwarn):
    back = bank.restore_questions(stored)
    assert back["user_questions"] == [] and back["saved"] == sv.empty_value()
    assert any("could not be loaded" in str(w.message) for w in recwarn)


def test_two_entries_with_one_id_keep_the_first():
    other = {"name": "copy.md", "text": GOOD["text"].replace("title: The", "title: Copy of")}
    back = sv.restore(_value(GOOD, other), BUNDLED)
    assert [q.title for q in back.questions] == ["The reparameterization trick"]
    assert "copy.md" in back.problems[0] and "duplicate id 'good-one'" in back.problems[0]


def test_the_warning_names_a_few_and_counts_the_rest():
    back = sv.restore(_value(*[{"name": f"b{i}.md", "text": " "} for i in range(5)], GOOD))
    assert back.warning.startswith("5 of your saved question files could not be loaded")
    assert "b0.md" in back.warning and "b3.md" not in back.warning and "2 more" in back.warning


# ---- removal --------------------------------------------------------------------------------


def test_removing_a_file_drops_its_question_from_the_page_and_the_browser(tmp_path):
    up = bank.upload_questions(_files(tmp_path, "mine-one", "mine-two", "mine-three"), [], {})
    out = bank.remove_questions(
        ["mine-two"], up["user_questions"], up["sources"], current="mine-one"
    )
    assert [q.id for q in out["user_questions"]] == ["mine-one", "mine-three"]
    assert set(out["sources"]) == {"mine-one", "mine-three"}
    assert [f["name"] for f in out["saved"]["files"]] == ["mine-one.md", "mine-three.md"]
    assert out["current"] == "mine-one"  # another card on screen stays
    assert "`mine-two.md`" in out["report"] and "progress on them is kept" in out["report"]
    back = bank.restore_questions(_through_the_browser(out["saved"]))
    assert [q.id for q in back["user_questions"]] == ["mine-one", "mine-three"]
    ids = [q.id for q in all_questions(back["user_questions"])]
    assert ids[: len(BUNDLED)] == BUNDLED  # the bundled bank is intact
    assert bank.bank_table(back["user_questions"]).count("`mine-") == 2
    assert "mine-two" not in [v for _, v in bank.file_choices(back["user_questions"])]


def test_removing_the_card_on_screen_clears_it_and_keeps_its_progress(tmp_path):
    up = bank.upload_questions(_files(tmp_path, "mine-one"), [], {})
    q = up["user_questions"][0]
    progress = grade(new_progress(), q.id, q.topic, "good", NOW)
    out = bank.remove_questions([q.id], up["user_questions"], up["sources"], current=q.id)
    assert out["current"] is None and out["user_questions"] == []
    assert out["saved"] == sv.empty_value()
    assert q.id in progress["cards"]  # progress is not an input: removal cannot touch it
    again = bank.upload_questions(_files(tmp_path, "mine-one"), [], {})
    shown = st.stats_markdown(progress, again["user_questions"])  # added again: still reviewed
    assert f"1 of {len(BUNDLED) + 1} reviewed" in shown


def test_removing_nothing_or_a_bundled_question_is_refused(tmp_path):
    up = bank.upload_questions(_files(tmp_path, "mine-one"), [], {})
    for ids in ([], None, [BUNDLED[0]]):
        with pytest.raises(gr.Error, match="Choose one or more of your question files"):
            bank.remove_questions(ids, up["user_questions"], up["sources"])


def test_the_files_note_says_what_is_kept():
    assert "none yet" in bank.files_note([])
    up_note = bank.files_note([bundled_bank().questions[0]] * 3, ["x"])
    assert "3 (2 kept in this browser, 1 on this page only)" in up_note


# ---- a ?q= link --------------------------------------------------------------------------


def test_a_link_to_a_saved_question_opens_it_with_interval_labels(tmp_path):
    up = bank.upload_questions(_files(tmp_path, "mine-one"), [], {})
    back = bank.restore_questions(_through_the_browser(up["saved"]))
    out = st.open_question("mine-one", new_progress(), back["user_questions"])
    assert out["current"] == "mine-one"
    labels = st.grade_labels(out["previews"])
    assert all(" · " in label for label in labels.values()), labels
    assert f"0 of {len(BUNDLED) + 1} reviewed" in out["stats"]  # the stats count it too


# ---- the wiring: menus and the card on screen after a removal ------------------------------


def test_a_menu_keeps_only_the_values_it_still_offers():
    assert bank.still_offered(["a", "gone", "b"], ["b", "a"]) == ["a", "b"]
    assert bank.still_offered(["q1", "q2"], [("Title one", "q1")]) == ["q1"]
    assert bank.still_offered(None, ["a"]) == []


def _handler(demo, name):
    """The first event whose function is ``name`` (the bank's upload has two triggers)."""
    return next(f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def _by(result: dict, key: str):
    """The update of the one component whose label or elem_id is ``key``."""
    (value,) = [v for c, v in result.items() if key in (getattr(c, "label", None), c.elem_id)]
    return value


def _menu(result: dict, label: str, prop: str):
    return _by(result, label).constructor_args[prop]


def test_removing_a_file_clears_its_card_and_the_menu_values_it_gave(tmp_path):
    from kit.ui import build_app_and_links

    demo = build_app_and_links()[0]
    upload, remove = _handler(demo, "upload_fn"), _handler(demo, "remove_fn")
    path = tmp_path / "mine-one.md"
    path.write_text(_text("mine-one").replace("tags: [", "tags: [my-own-tag, "), "utf-8")
    chosen = [["vae-foundations"], ["my-own-tag", "sampling"], ["mine-one", BUNDLED[0]], []]
    up = bank.upload_questions([str(path)], [], {})
    wired = upload.fn([str(path)], [], {}, *chosen)
    assert "my-own-tag" in _menu(wired, "Tags", "choices")
    assert _menu(wired, "Tags", "value") == chosen[1]  # still offered: kept
    mine, texts = up["user_questions"], up["sources"]

    out = remove.fn(["mine-one"], mine, texts, "mine-one", *chosen)
    assert "my-own-tag" not in _menu(out, "Tags", "choices")
    assert _menu(out, "Tags", "value") == ["sampling"]  # the removed file's tag is unchosen
    assert _menu(out, "Topics", "value") == ["vae-foundations"]
    assert _menu(out, "Questions (in this order)", "value") == [BUNDLED[0]]
    assert _by(out, "quiz-front") == bank.REMOVED_CARD
    assert _by(out, "quiz-back") == ""  # the removed card's answer goes with it
    kept = remove.fn(["mine-one"], mine, texts, BUNDLED[0], *chosen)  # another card stays
    assert not [c for c in kept if c.elem_id in ("quiz-back", "quiz-front")]
