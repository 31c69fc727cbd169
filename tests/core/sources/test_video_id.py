"""Video ids: the only URL yt-dlp is ever handed is rebuilt from a valid one."""

from __future__ import annotations

import pytest

from musicrec_core.errors import LinkRejectedError
from musicrec_core.sources.video_id import canonical_url

ID = "dQw4w9WgXcQ"


def test_canonical_url_refuses_bad_ids() -> None:
    assert canonical_url(ID) == f"https://www.youtube.com/watch?v={ID}"
    for bad in ("short", ID + "/", "../../etc/pw", f"{ID[:10]}&"):
        with pytest.raises(LinkRejectedError):
            canonical_url(bad)
