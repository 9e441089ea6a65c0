"""The harsh-turn model: scoring matches scikit-learn, bad files say how to fix them, the bundled
file is what `make` rebuilds, and it catches harsh wording no phrase lists (on by default).

Sentences are written for these tests (not in the training data under tests/data).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import RulebookError
from pipeline.rules import BUNDLED_HARSH_MODEL, DEFAULT_RULEBOOK, load_rulebook, match, parse_rulebook, with_turn_model
from pipeline.rules.text import compact_text
from pipeline.rules.turn_model import load_turn_model, save_turn_model, train_turn_model
from tests.dialogue_factory import spoken_call

TOY = [("你自己看说明书去", 1), ("这事你问别人去", 1), ("你爱信不信", 1), ("好的马上帮您查", 0),
       ("不好意思让您久等了", 0), ("我来帮您处理", 0), ("您稍等我看一下", 0), ("你自己弄吧", 1)]

# Harsh, and worded so that no phrase of the rulebook catches them.
UNLISTED_HARSH = [
    "你们自己家的网线自己不检查？",
    "这种小事也值得打电话？",
    "你非要这么说我也没话讲。",
    "你那边自己搞定吧，我这忙着呢。",
    "您这是自己没保管好。",
    "我都跟你讲清楚了，你还问。",
]
COURTEOUS = [
    "好的，我马上帮您查一下物流。",
    "您别着急，我们一定给您处理好。",
    "不好意思让您久等了。",
    "这个问题我来跟进，明天给您回电话。",
    "不客气，祝您生活愉快。",
    "没问题，我现在就给您改。",
]


def harsh_patterns(rulebook, text: str) -> list[str]:
    call = spoken_call(("agent", text), ("customer", "嗯。"), call_id="t-001", agent_id="A01")
    return [f.pattern for f in match(call, rulebook) if f.rule_id == "harsh_negation"]


BUNDLED_SETTING = "    model: harsh_turns.json"


def phrases_only_rulebook():
    text = DEFAULT_RULEBOOK.read_text(encoding="utf-8")
    assert BUNDLED_SETTING in text
    return parse_rulebook(text.replace(BUNDLED_SETTING, "    model: null", 1), path=DEFAULT_RULEBOOK)


@pytest.fixture(scope="module")
def rulebooks():
    return phrases_only_rulebook(), load_rulebook()


def test_scoring_reproduces_scikit_learn(tmp_path):
    pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = [t for t, _ in TOY], [y for _, y in TOY]
    path = save_turn_model(train_turn_model(TOY, name="toy", threshold=0.5), tmp_path / "toy.json")
    model = load_turn_model(path)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False)
    classifier = LogisticRegression(C=16.0, class_weight="balanced", max_iter=5000).fit(vectorizer.fit_transform(texts), labels)
    for text in texts + ["你自己去问吧", "马上帮您看一下"]:
        expected = classifier.predict_proba(vectorizer.transform([text]))[0, 1]
        assert model.probability(text) == pytest.approx(expected, abs=1e-3)


def test_bundled_model_is_what_make_rebuilds(tmp_path):
    pytest.importorskip("sklearn")
    from callqa.cli import harsh_training_examples

    examples = harsh_training_examples(Path(__file__).resolve().parents[1] / "data")
    shipped = load_turn_model(BUNDLED_HARSH_MODEL)
    rebuilt = train_turn_model(examples, name="harsh_turns")
    assert rebuilt["examples"] == json.loads(BUNDLED_HARSH_MODEL.read_text(encoding="utf-8"))["examples"], \
        "training data changed: run `make models` (or `callqa train-harsh-model`) and commit harsh_turns.json"
    assert rebuilt["threshold"] == shipped.threshold
    sample = [compact_text(s) for s in UNLISTED_HARSH + COURTEOUS]
    rebuilt_model = load_turn_model(save_turn_model(rebuilt, tmp_path / "rebuilt.json"))
    for text in sample:
        assert rebuilt_model.probability(text) == pytest.approx(shipped.probability(text), abs=1e-3)


@pytest.mark.parametrize("text", UNLISTED_HARSH)
def test_model_catches_harsh_wording_no_phrase_lists(rulebooks, text):
    base, with_model = rulebooks
    assert harsh_patterns(base, text) == []
    assert [p for p in harsh_patterns(with_model, text) if p.startswith("model:harsh_turns")]


@pytest.mark.parametrize("text", COURTEOUS)
def test_model_leaves_courteous_turns_alone(rulebooks, text):
    assert harsh_patterns(rulebooks[1], text) == []


def test_model_is_on_in_the_bundled_rulebook(rulebooks):
    phrases_only, bundled = rulebooks
    assert phrases_only.rules["harsh_negation"].model is None
    assert bundled.rules["harsh_negation"].model.threshold == load_turn_model(BUNDLED_HARSH_MODEL).threshold
    assert bundled.sha256 != phrases_only.sha256  # reports say which variant scored a call


def test_with_turn_model_sets_the_model_on_a_phrases_only_rulebook(rulebooks):
    book = with_turn_model(rulebooks[0], "harsh_negation", BUNDLED_HARSH_MODEL, threshold=0.9)
    assert book.rules["harsh_negation"].model.threshold == 0.9
    assert harsh_patterns(book, "这种小事也值得打电话？")


@pytest.mark.parametrize("text", ["是的你呢。", "什么键盘呢？", "你等着。"])
def test_model_does_not_judge_a_few_characters(rulebooks, text):
    # too little wording to tell curt from rude: the phrase rules still read such turns
    model = rulebooks[1].rules["harsh_negation"]
    assert len(compact_text(text)) < model.spec.model_min_chars
    assert not [p for p in harsh_patterns(rulebooks[1], text) if p.startswith("model:")]


@pytest.mark.parametrize("text", ["亲亲，这个发票是个人抬头的呢。", "亲，您自己在订单页点一下申请就可以的哦。"])
def test_model_leaves_the_chat_courtesy_register_to_the_phrase_rules(rulebooks, text):
    """model_exempt: 亲 addresses mark chat courtesy, the register the model was least trained on."""
    assert not [p for p in harsh_patterns(rulebooks[1], text) if p.startswith("model:")]


def test_missing_model_file_names_rule_line_and_fix():
    text = DEFAULT_RULEBOOK.read_text(encoding="utf-8").replace(BUNDLED_SETTING, "    model: nowhere.json", 1)
    with pytest.raises(RulebookError, match=r"harsh_negation.*nowhere\.json.*train-harsh-model"):
        parse_rulebook(text, path=DEFAULT_RULEBOOK)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable turn model"),
    ('{"format": "other/1"}', "expected a turn model of format"),
    ('{"format": "callqa-turn-model/1", "name": "x"}', "missing or has a bad field"),
])
def test_malformed_model_file_says_how_to_fix(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulebookError, match=message) as info:
        load_turn_model(path)
    assert str(path) in str(info.value) and "train-harsh-model" in str(info.value)


def test_make_rebuilds_the_model_when_any_training_set_changes():
    """The Makefile's HARSH_DATA names every set the model trains on, so `make` never ships a stale model."""
    import re

    from callqa.cli import HARSH_TRAINING_SETS

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    named = set(re.findall(r"tests/data/([a-z_0-9]+)/calls\.json", makefile))
    assert named == set(HARSH_TRAINING_SETS)


def test_the_model_never_trains_on_a_check_set():
    """Check sets measure generalisation: a model trained on one would make its numbers meaningless."""
    from callqa.bench.real_dev import CHECK_SET_NAMES
    from callqa.cli import HARSH_TRAINING_SETS

    assert not set(CHECK_SET_NAMES) & set(HARSH_TRAINING_SETS)


def test_a_turn_only_the_model_flags_is_no_refusal_for_the_outcome(rulebooks):
    """Worded like a put-down is not the same as refusing: the call outcome does not read it as an open refusal."""
    from pipeline.rules import assess
    from tests.dialogue_factory import A, BYE, C, GREET

    qa = assess(spoken_call(GREET, (C, "我的包裹显示签收了，可我没收到。"), (A, "这种小事也值得打电话？"),
                            (C, "那你们帮我查一下。"), (A, "已经查到了，放在门卫室，您去取一下就行。"), (C, "好的，拿到了，谢谢。"), BYE,
                            call_id="t-model-outcome"), rulebooks[1])
    assert [f.pattern for f in qa.findings if f.rule_id == "harsh_negation" and f.pattern.startswith("model:")]
    assert qa.resolution == "resolved", qa.resolution_evidence
