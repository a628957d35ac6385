"""The evidence rule: a quote counts only when it is in the answer and about its key point."""

from __future__ import annotations

import yaml

from bot.config import SHIPPED_PACKS
from bot.grading.evidence import FULL_AT, VOID_BELOW, allowed_credit, locate, quoted, relevance
from bot.grading.injection import CORPUS
from bot.grading.text import sentences
from bot.packs import load_bank

BANK = load_bank([SHIPPED_PACKS])
ANSWER = (
    "Overfitting is when a model memorises the noise of the training data. It then does badly"
    " on new data! Use early stopping."
)
KEY_POINT = "A model memorises noise and generalises badly to unseen data"
QUESTION = "What is overfitting and how do you prevent it?"


def test_quotes_are_found_as_word_sequences() -> None:
    assert locate("MEMORISES   the noise", ANSWER) == (
        "overfitting is when a model memorises the noise of the training data."
    )
    assert locate("It then ... new data", ANSWER) == "it then does badly on new data!"
    assert quoted("\u201cuse early-stopping\u201d", ANSWER)
    assert not quoted("memorizes noise", ANSWER)  # another spelling is not a quote
    assert not quoted("the", ANSWER)  # too short to prove anything
    assert not quoted("memorises the noise ... overfits on purpose", ANSWER)


def test_credit_is_capped_by_relevance_to_the_key_point() -> None:
    assert allowed_credit("model memorises the noise", ANSWER, KEY_POINT, QUESTION) == 1.0
    assert allowed_credit("does badly on new data", ANSWER, KEY_POINT, QUESTION) == 0.5
    assert allowed_credit("Use early stopping", ANSWER, KEY_POINT, QUESTION) == 0.0
    assert allowed_credit("not in the answer at all", ANSWER, KEY_POINT, QUESTION) == 0.0


def test_question_words_count_little() -> None:
    echo = "overfitting and how you prevent it is the question"
    assert relevance(echo, "Overfitting is prevented by regularisation", QUESTION) < VOID_BELOW


def test_reference_answers_keep_their_credit_and_wrong_answers_do_not() -> None:
    def shares(pairs: list[tuple[str, str, str]]) -> tuple[float, float]:
        best = [
            max(relevance(s, point, prompt) for s in sentences(text))
            for text, point, prompt in pairs
        ]
        return (
            sum(r >= FULL_AT for r in best) / len(best),
            sum(r < VOID_BELOW for r in best) / len(best),
        )

    reference = [
        (q.reference_answer or "", kp.text, q.prompt)
        for q in BANK.open_questions()
        for kp in q.key_points
    ]
    full, void = shares(reference)
    assert full >= 0.9 and void <= 0.005
    wrong_items = yaml.safe_load((CORPUS / "wrong_answers.yaml").read_text())["answers"]
    wrong = []
    for item in wrong_items:
        question = BANK.get(item["question"])
        assert question is not None
        wrong += [(item["answer"], kp.text, question.prompt) for kp in question.key_points]
    full, void = shares(wrong)
    assert full <= 0.05 and void >= 0.85
