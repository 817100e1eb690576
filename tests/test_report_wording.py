"""How findings read: a threshold already carries its comparison ("不超过 18 个月", "at most 18
months"), so a message must not put another one before it, and a unit belongs to a number, not to a
date observed against a limit in months."""

from __future__ import annotations

import re

import pytest
from builders import DA, baseline, evaluate_dict, findings, with_

from icv_permits.adapters.packs import load_pack
from icv_permits.present.report import render_text

PACKS = ("national-2021", "anhui-2025")
# words that compare: before "{threshold}" they double the threshold's own ("超过 不超过 18 个月")
COMPARING = re.compile(r"(超过|多于|少于|不少于|不超过|不足|低于|高于|longer than|more than|fewer than|less than|"
                       r"at least|at most|shorter than)\s*$")

NOTICE = {"number": "皖智网测〔2025〕012号", "kind": "road_test", "issuer_province": "anhui", "issued": "2025-06-10",
          "valid_until": "2026-12-20", "sections": ["HF-GX-001"]}


def _templates():
    for pack_id in PACKS:
        pack = load_pack(pack_id)
        for rid, rule in pack.rules.items():
            for reason, msg in (rule.messages or {}).items():
                for lang in ("zh", "en"):
                    yield pytest.param(pack_id, rid, reason, lang, msg(lang), id=f"{pack_id}-{rid}-{reason}-{lang}")


@pytest.mark.parametrize("pack_id, rid, reason, lang, template", list(_templates()))
def test_no_comparison_word_before_a_threshold(pack_id, rid, reason, lang, template):
    for m in re.finditer(r"\{threshold\}", template):
        before = template[: m.start()]
        assert not COMPARING.search(before), f"{rid}/{reason} ({lang}) compares twice: {template!r}"


@pytest.mark.parametrize("lang, expected, unwanted", [
    ("zh", ["有效至 2026-12-20", "有效期应不超过 18 个月", "最晚至 2026-12-09", "实际：2026-12-20 ·"],
     ["超过 不超过", "2026-12-20 个月"]),
    ("en", ["valid until 2026-12-20", "allowed at most 18 months", "until 2026-12-09 at the latest", "observed: 2026-12-20 ·"],
     ["longer than at most", "2026-12-20 months"]),
])
def test_notice_validity_reads_as_a_sentence(lang, expected, unwanted):
    pack = load_pack("anhui-2025")
    d = evaluate_dict(with_(baseline(DA), "notices", [NOTICE]))
    (f,) = findings(d, "PER-01")
    assert f.reason == "notice_too_long"
    text = render_text(d, pack, lang, width=200, verbose=True)
    block = text[text.index("PER-01"):]
    for want in expected:
        assert want in block, (want, block[:600])
    for bad in unwanted:
        assert bad not in text


@pytest.mark.parametrize("pack_id", PACKS)
def test_english_citations_carry_no_chinese(pack_id):
    """An English report cites its sources in English: the locator is bilingual, an article number
    such as 第二条 reads Art. 2 (a quote stays in the words of the source and is not shown here)."""
    from icv_permits.present.report import citation

    pack = load_pack(pack_id)
    for rid in pack.rules:
        en = citation(rid, pack, "en")
        assert not re.search(r"[\u4e00-\u9fff]", en), (rid, en)
        assert citation(rid, pack, "zh")


@pytest.mark.parametrize("text, en", [("第二条", "Art. 2"), ("第十条", "Art. 10"), ("第十二条", "Art. 12"), ("第二十条", "Art. 20"),
                                      ("第三十五条", "Art. 35"), ("第一百零五条", "Art. 105"), ("附件一", "附件一")])
def test_article_numbers_in_english(text, en):
    from icv_permits.present.report import article

    assert article(text, "en") == en
    assert article(text, "zh") == text
