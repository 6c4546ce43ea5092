"""The page extractor's fold is `core.text.fold`, character for character."""

import random

from portal_index.core.text import fold as reference
from portal_index.parse.page_signals import fold


def test_fold_is_the_core_fold_on_vietnamese_and_any_unicode():
    samples = ["Góp ý", "GÓP Ý", "Gop y", "  Hoà  Bình\n\tĐà Nẵng ", "ǅ ﬃ ẞ ß İ", "e\u0301\u0323", "x\u20dd", "Ⅻ ①", ""]
    samples.append("Cổng thông tin điện tử — Thủ tục hành chính".encode().decode("utf-8"))
    rnd = random.Random(7)
    ranges = [(0x20, 0x250), (0x300, 0x370), (0x1E00, 0x1F00), (0x20, 0x30000)]
    for _ in range(2000):
        samples.append("".join(chr(rnd.randrange(*rnd.choice(ranges))) for _ in range(rnd.randrange(40))))
    assert [fold(s) for s in samples] == [reference(s) for s in samples]
