from seaembed.augment.langid import detect_language, detect_languages, script_language


def test_lingua_detects_the_latin_script_sea_languages_offline():
    texts = {"id": "saya mau beli sepatu lari yang murah untuk anak saya",
             "ms": "saya mahu membeli kasut larian yang murah untuk kanak-kanak",
             "vi": "tôi muốn mua giày chạy bộ giá rẻ cho con tôi",
             "tl": "gusto kong bumili ng murang sapatos pangtakbo para sa anak ko",
             "en": "I want to buy cheap running shoes for my child"}
    found = detect_languages(list(texts.values()))
    assert found == list(texts)


def test_script_rules_decide_thai_khmer_and_burmese():
    assert detect_language("รองเท้าวิ่งผู้ชาย") == "th"
    assert detect_language("ស្បែកជើងរត់សម្រាប់បុរស") == "km"
    assert detect_language("အမျိုးသားပြေးဖိနပ်") == "my"
    assert script_language("Samsung รองเท้า") == "th"
    assert script_language("plain latin") is None


def test_restricting_the_language_set_and_texts_without_letters():
    assert detect_languages(["sepatu lari murah", "12345 !!"], langs=("id", "en")) == ["id", None]
