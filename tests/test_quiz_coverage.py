"""Key-point coverage of a typed answer (kit.quiz.coverage)."""

from __future__ import annotations

import time

import pytest

from kit.quiz.coverage import (
    MAX_TEXT_CHARS,
    CoverageItem,
    content_words,
    coverage,
    negated,
    normalise,
)

REPARAM_POINTS = [
    "The sample is written as a deterministic function of the parameters and independent noise",
    "Gradients flow through mu and sigma",
]
REPARAM_KEYWORDS = [
    [["deterministic"], ["noise", "epsilon", "eps"]],
    [["gradient"], ["mu"], ["sigma", "std"]],
]


def _covered(text: str, groups: list[list[str]]) -> bool:
    (item,) = coverage(text, ["point"], [groups])
    return item.covered


def _hit(text: str, alternative: str) -> bool:
    return _covered(text, [[alternative]])


def test_typical_answer_covers_both_points():
    answer = (
        "Sampling isn't differentiable, so we write z = mu + sigma * eps with eps ~ N(0, I). "
        "Now z is a deterministic function of the parameters and the gradient reaches mu and sigma."
    )
    items = coverage(answer, REPARAM_POINTS, REPARAM_KEYWORDS)
    assert [type(i) for i in items] == [CoverageItem, CoverageItem]
    assert [i.covered for i in items] == [True, True]
    assert items[1].matched == [True, True, True] and items[1].needed == 2
    assert all(i.explicit for i in items)


def test_partial_answer_and_thresholds():
    # 2 groups need 1; 3 groups need 2; 4 groups need 2.
    items = coverage("We add noise.", REPARAM_POINTS, REPARAM_KEYWORDS)
    assert [i.covered for i in items] == [True, False]
    assert items[1].hits == 0 and items[1].missing == ["gradient", "mu", "sigma/std"]
    assert not _covered("mu only", [["gradient"], ["mu"], ["sigma"]])
    assert _covered("mu and sigma", [["gradient"], ["mu"], ["sigma"]])
    assert _covered("alpha beta", [["alpha"], ["beta"], ["gamma"], ["delta"]])
    assert not _covered("alpha", [["alpha"], ["beta"], ["gamma"], ["delta"]])


@pytest.mark.parametrize("text", ["", "   \n\t", "$$ $$", "..."])
def test_empty_answers_cover_nothing(text):
    items = coverage(text, REPARAM_POINTS, REPARAM_KEYWORDS)
    assert not any(i.covered for i in items)
    assert all(i.hits == 0 for i in items)


def test_no_key_points_gives_no_items():
    assert coverage("anything", [], []) == []


@pytest.mark.parametrize(
    ("text", "alternative", "hit"),
    [
        ("The NOISE is Gaussian", "noise", True),  # case-insensitive
        ("a noiseless channel", "noise", True),  # word prefix
        ("white-noise input", "noise", True),  # a hyphen starts a new word
        ("(noise),", "noise", True),  # punctuation around it
        ("annoise", "noise", False),  # inside another word: no
        ("weakly related", "kl", False),
        ("the KL(q||p) term", "kl", True),
        ("KLD", "kl", True),
        ("unsupervised learning", "supervised", False),
        ("z_mean and z_log_var", "mean", True),  # snake_case pieces are words
        ("mean2", "mean", True),
        ("2mean", "mean", False),  # a digit before it: inside a word
        ("nois", "noise", False),  # a prefix of the keyword is not enough
    ],
)
def test_word_prefix_matching(text, alternative, hit):
    assert _hit(text, alternative) is hit


@pytest.mark.parametrize(
    ("text", "alternative"),
    [
        (r"$z = \mu + \sigma \odot \epsilon$", "sigma"),
        (r"$z = \mu + \sigma \odot \epsilon$", "epsilon"),
        (r"$\varepsilon \sim \mathcal{N}(0, I)$", "epsilon"),  # \var variants
        (r"$\nabla_\phi \mathbb{E}[f(z)]$", "phi"),
        (r"$\text{noise}$", "noise"),
        ("z = μ + σ·ε", "sigma"),  # Greek letters typed directly
        ("z = μ + σ·ε", "epsilon"),
        ("β-VAE", "beta-vae"),
        ("ＫＬ divergence", "kl"),  # full-width letters (NFKC)
    ],
)
def test_latex_and_unicode_spellings_match(text, alternative):
    assert _hit(text, alternative)


def test_latex_does_not_create_false_matches():
    # A LaTeX command is one word: only its prefixes match, never its insides.
    assert not _hit(r"$\mathbb{E}$", "bb")
    assert not _hit(r"$\operatorname{var}$", "name")
    assert _hit(r"$\operatorname{var}$", "var")  # the braces start a new word
    assert not _hit(r"$\lambda$", "bda")


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("posterior collapse happens", True),
        ("Posterior-collapse", True),
        ("posterior_collapse", True),
        ("posterior   collapse", True),
        ("posterior. Collapse", False),
        ("the posterior may collapse", False),
    ],
)
def test_multi_word_alternatives(text, hit):
    assert _hit(text, "posterior collapse") is hit


def test_regex_characters_in_keywords_are_literal():
    assert _hit("maximise log p(x) directly", "p(x)")
    assert not _hit("maximise log px directly", "p(x)")
    assert _hit("written in c++", "c++")
    assert not _hit("anything", "[")  # no regex error either
    assert _hit("E[log p]", "e[log")


def test_groups_written_with_slashes_and_empty_alternatives():
    assert _covered("we use eps", ["noise/epsilon/eps"])  # a group given as one string
    assert _covered("std dev", [["sigma/std"]])
    (item,) = coverage("x", ["p"], [[["", "  "], ["kl"]]])
    assert item.groups == [["kl"]]  # empty alternatives and groups dropped


def test_fallback_content_words_when_a_point_has_no_keywords():
    points = ["Gradients flow through the encoder's mean", "Use KL"]
    assert content_words(points[0]) == [["gradient"], ["flow"], ["encoder"], ["mean"]]
    # keywords shorter than key_points, and an empty entry: both fall back
    for keywords in ([], [[]]):
        first, second = coverage("the gradient flows", points, keywords)
        assert not first.explicit and first.needed == 2
        assert first.covered  # "gradient" and "flow" matched
        assert second.groups == [] and second.needed == 1 and not second.covered
    assert not coverage("flows", points)[0].covered  # 1 of 4 is not half


def test_stop_words_and_short_words_are_not_content_words():
    assert content_words("This is about what they would have done with it") == []
    assert content_words("The KL term of the ELBO") == [["term"], ["elbo"]]


def test_derived_keywords_are_stemmed_when_marked_not_explicit():
    points = ["Gradients flow through the mean"]
    derived = [[["gradients"], ["flow"], ["mean"]]]
    text = "the gradient flow"
    assert not coverage(text, points, derived)[0].covered  # taken literally: 1 of 3
    item = coverage(text, points, derived, explicit=[False])[0]
    assert item.covered and not item.explicit and item.groups[0] == ["gradient"]


def test_huge_adversarial_text_is_cut_and_fast():
    filler = "annoise " * (MAX_TEXT_CHARS // 8)
    text = filler + " noise"  # the real keyword lies beyond the checked part
    start = time.perf_counter()
    items = coverage(text, REPARAM_POINTS * 10, REPARAM_KEYWORDS * 10)
    assert time.perf_counter() - start < 2.0
    assert not any(i.covered for i in items)


# --- negation ---

DIFFERENTIABLE = "z is a differentiable function of mu and sigma"
NOT_DIFFERENTIABLE = "Sampling isn't differentiable, so no gradient reaches the encoder"


def _covers(text: str, point: str, groups: list[list[str]]) -> bool:
    (item,) = coverage(text, [point], [groups])
    return item.covered


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("z is differentiable", True),
        ("sampling is not differentiable", False),
        ("sampling isn't differentiable", False),
        ("sampling isn’t differentiable", False),  # a typographic apostrophe
        ("sampling is NOT really differentiable", False),
        ("it is never differentiable", False),
        ("we cannot make it differentiable", False),
        ("a path without differentiable steps", False),
        ("no differentiable path", False),
        ("it doesn't give us a differentiable sample", False),  # four words back
        ("not as written, but differentiable after the trick", True),  # "but" ends the clause
        ("not random. Differentiable in mu", True),  # a full stop ends it
        ("not, as I said, the issue: it is differentiable", True),
        ("it is not only differentiable but cheap", True),  # "not only" affirms
        ("not a problem for the trick, which makes the sample differentiable", True),
        ("it is not random or noisy or anything, differentiable", True),
        ("no one would say the path is differentiable", True),  # five words back: too far
        ("computed without noise from a differentiable path", True),  # "without" negates its object
        ("there is no real differentiable path", False),  # two words after "no"
        ("no fully smooth and differentiable path", True),  # three after "no": out of reach
    ],
)
def test_a_negated_keyword_does_not_cover_an_affirmative_point(text, hit):
    assert _covers(text, DIFFERENTIABLE, [["differentiable"]]) is hit


def test_a_point_that_negates_is_covered_by_the_same_negation_only():
    groups = [["differentiable"], ["gradient"]]
    assert _covers("sampling is not differentiable", NOT_DIFFERENTIABLE, [["differentiable"]])
    assert not _covers("sampling is differentiable", NOT_DIFFERENTIABLE, [["differentiable"]])
    # Per group: "no gradient" in the point is negated too, so an affirmative "gradient" is not.
    assert _covers("it isn't differentiable and no gradient arrives", NOT_DIFFERENTIABLE, groups)
    (item,) = coverage(
        "it is differentiable and the gradient arrives", [NOT_DIFFERENTIABLE], [groups]
    )
    assert item.matched == [False, False]


def test_one_affirmative_occurrence_is_enough():
    text = "It is not noise. Well, the noise is what we move out."
    assert _covers(text, "The noise moves out", [["noise"]])
    assert not _covers("It is not noise, I mean not noise", "The noise moves out", [["noise"]])


def test_negation_applies_to_fallback_content_words_too():
    point = "Gradients reach the encoder"
    assert coverage("gradients reach the encoder", [point])[0].covered
    assert not coverage(
        "no gradients reach, nothing gets to the encoder... not gradients", [point]
    )[0].matched[0]


def test_negated_function_is_exposed_and_clause_bound():
    text = normalise("it is not random, differentiable")
    assert negated(text, text.index("random"))
    assert not negated(text, text.index("differentiable"))


def test_many_negated_occurrences_stay_fast():
    text = "not noise " * (MAX_TEXT_CHARS // 10)
    start = time.perf_counter()
    items = coverage(text, REPARAM_POINTS * 10, REPARAM_KEYWORDS * 10)
    assert time.perf_counter() - start < 2.0
    assert not any(i.matched[1] for i in items[::2])  # every "noise" is negated


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("the mu vector", True),
        (r"$\mu_\phi(x)$", True),
        ("μ and σ", True),
        ("mu_phi", True),
        ("we must use more", False),  # "mu" would start "must"
        ("multiple samples", False),
        ("the KLD term", True),  # "kl" keeps prefix matching
    ],
)
def test_short_alternatives_match_whole_words(text, hit):
    alternative = "kl" if "KLD" in text else "mu"
    assert _hit(text, alternative) is hit


def test_a_preposition_does_not_negate_the_rest_of_the_point():
    # "without bias" negates "bias"; "sample", four words later, keeps its affirmative sense.
    point = "The gradient is estimated without bias from one sample per image"
    assert _covers("one sample per image is enough", point, [["sample"]])
    assert not _covers("it is not a sample", point, [["sample"]])


def test_polarity_is_per_alternative():
    # The point negates "labels" but never mentions "metric": each keeps its own polarity.
    point = "Without labels it is not guaranteed; measuring it needs ground-truth factors"
    groups = [["metric", "labels"]]
    assert _covers("metrics need labelled factors", point, groups)  # "metric", affirmative
    assert _covers("you can't say much without labels", point, groups)  # "labels", negated
    assert not _covers("it needs labels", point, groups)  # "labels" affirmed: the point negates it
