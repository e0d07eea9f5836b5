"""check_poem on real and broken poems."""

from museforge.text.forms import check_poem

DENG_GUAN_QUE_LOU = "《登鹳雀楼》\n\n白日依山尽，\n黄河入海流。\n欲穷千里目，\n更上一层楼。\n"
FENG_QIAO_YE_BO = "月落乌啼霜满天，江枫渔火对愁眠。\n姑苏城外寒山寺，夜半钟声到客船。"


def test_tang_quatrains_are_valid():
    assert check_poem(DENG_GUAN_QUE_LOU, "wujue") == []
    assert check_poem(FENG_QIAO_YE_BO, "qijue") == []


def test_broken_quatrain_names_each_fault():
    broken = "白日依山尽，\n黄河入海流水。\n欲穷千里目，\n更上一层天。\n多一行"
    messages = [v.message for v in check_poem(broken, "wujue")]
    assert "the poem has 5 lines, the form needs 4" in messages
    assert "line 2 has 6 characters, the form needs 5" in messages
    assert any(m.startswith("line 4 ends in 天") for m in messages)


def test_wrong_form_length():
    faults = check_poem(DENG_GUAN_QUE_LOU, "qijue")
    assert sum(v.kind == "length" for v in faults) == 4
    assert "line 3 has 5 characters, the form needs 7" in [v.message for v in faults]


def test_tone_faults_are_named():
    # 床前明月光: 静夜思 is an old-style poem; line 2 breaks the alternation.
    text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    faults = check_poem(text, "wujue")
    assert {v.kind for v in faults} == {"tone"}
    assert any("(是, 上) are both oblique" in v.message for v in faults)


def test_repeated_rhyme_character():
    text = "白日依山尽，黄河入海流。欲穷千里目，更上一层流。"
    assert any("repeats the rhyme character 流" in v.message for v in check_poem(text, "wujue"))


def test_english_forms():
    good = "Dusk\n\nThe pines lean into the night,\nthe river runs far away;\n" \
        "I walk beyond the light,\nand close the day."
    assert check_poem(good, "quatrain") == []
    bad = "The pines lean into the night,\nthe river runs far away;\nI walk alone,\nand sleep."
    assert [v.line for v in check_poem(bad, "quatrain")] == [3, 4]
    assert check_poem("an old silent pond\na frog jumps into the pond\nsplash silence again",
                      "haiku") == []
    faults = check_poem("an old pond\na frog jumps in\nsplash", "haiku")
    assert [v.kind for v in faults] == ["length"] * 3


HUI_XIANG = "少小离家老大回，乡音无改鬓毛衰。儿童相见不相识，笑问客从何处来。"
CAO_TANG = (  # Bai Juyi: 行 here is háng (a row), which modern readings take for xíng
    "五架三间新草堂，石阶桂柱竹编墙。南簷纳日冬天暖，北户迎风夏月凉。"
    "洒砌飞泉才有点，拂窗斜竹不成行。来春更葺东厢屋，纸阁芦帘著孟光。"
)


def test_pingshui_judges_tang_rhymes_by_the_book():
    # 墙 凉 行 光: one Pingshui group (下平七阳)
    assert check_poem(CAO_TANG, "qilv", rhymes="pingshui") == []
    assert [v.line for v in check_poem(CAO_TANG, "qilv") if v.kind == "rhyme"] == [6]
    assert check_poem(HUI_XIANG, "qijue", rhymes="pingshui") == []
    assert check_poem(DENG_GUAN_QUE_LOU, "wujue", rhymes="pingshui") == []
    assert check_poem(FENG_QIAO_YE_BO, "qijue", rhymes="pingshui") == []


def test_pingshui_names_the_groups_that_do_not_meet():
    text = "白日依山尽，黄河入海流。欲穷千里目，更上一层天。"
    (fault,) = [v for v in check_poem(text, "wujue", rhymes="pingshui") if v.kind == "rhyme"]
    assert fault.line == 4 and "下平一先" in fault.message and "下平十一尤" in fault.message


def test_pingshui_tones_count_the_entering_tone_oblique():
    from museforge.text.forms import verse_tones

    # 国 guó and 白 bái read level today but were entering (oblique) in Tang verse
    assert verse_tones("国白", "pingshui") == ("Z", "Z")
    assert verse_tones("山", "pingshui") == ("P",)


def test_unknown_rhyme_book_is_one_line():
    import pytest

    from museforge.errors import MuseforgeError

    with pytest.raises(MuseforgeError, match="rhyme book"):
        check_poem(HUI_XIANG, "qijue", rhymes="cantonese")
