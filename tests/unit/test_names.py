import unicodedata

import pytest

from portal_index.core.names import UnknownProvince, resolve_province


@pytest.mark.parametrize(
    "spelling, code",
    [
        ("TP. Hồ Chí Minh", "79"),
        ("Hồ Chí Minh", "79"),
        ("Ho Chi Minh City", "79"),
        ("HCM", "79"),
        ("Thành phố Hồ Chí Minh", "79"),
        ("Thừa Thiên Huế", "46"),
        ("Huế", "46"),
        ("Bà Rịa - Vũng Tàu", "77"),
        ("Bà Rịa–Vũng Tàu", "77"),
        ("Ba Ria Vung Tau", "77"),
        ("Hoà Bình", "17"),
        ("Hòa Bình", "17"),
        (unicodedata.normalize("NFD", "Hòa Bình"), "17"),
        ("  Hà   Nội ", "01"),
        ("HÀ NỘI", "01"),
        ("Tỉnh Lào Cai", "10"),
        ("1", "01"),
        ("01", "01"),
        ("Đắk Lắk", "66"),
        ("Dak Lak", "66"),
        ("Đắc Lắc", "66"),
    ],
)
def test_every_listed_spelling_resolves_in_the_63_list(spelling, code):
    assert resolve_province(spelling, era="63") == code


def test_the_same_name_has_its_own_code_in_each_era():
    assert resolve_province("Lào Cai", era="63") == "10"
    assert resolve_province("Lào Cai", era="34") == "15"  # the merged unit took Yên Bái's code
    assert resolve_province("Huế", era="34") == "46"


def test_a_name_that_matches_nothing_fails_loudly_with_suggestions():
    with pytest.raises(UnknownProvince) as err:
        resolve_province("Ha Noii", era="63")
    assert "Hà Nội" in err.value.suggestions
    assert "unknown province name 'Ha Noii'" in str(err.value)
    with pytest.raises(UnknownProvince):
        resolve_province("Atlantis")
    with pytest.raises(UnknownProvince):
        resolve_province("99")
