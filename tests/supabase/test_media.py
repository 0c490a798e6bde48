"""Content negotiation and body parsing (fakes/supabase/media.py) and Content-Location, unit by unit."""

from __future__ import annotations

import pytest

from dualsync.fakes.supabase import media, rest
from dualsync.fakes.supabase.errors import ApiError


@pytest.mark.parametrize("accept, kind, mime", [
    (None, "json", "application/json"),
    ("text/csv, application/json", "csv", "text/csv"),                 # the first of equals wins
    ("*/*, text/csv", "csv", "text/csv"),                              # a star is less specific
    ("application/json;q=0.5, text/csv", "csv", "text/csv"),
    ("text/csv, application/vnd.pgrst.object+json;nulls=stripped", "object",
     "application/vnd.pgrst.object+json;nulls=stripped"),            # a parameter is more specific
    ("application/vnd.pgrst.array+json", "json", "application/json"),
    ("application/vnd.pgrst.array;nulls=stripped", "json", "application/vnd.pgrst.array+json;nulls=stripped"),
    ("text/unknowntype, text/csv", "csv", "text/csv"),
])
def test_negotiation_orders_accept_as_wai_extra(accept, kind, mime):
    chosen = media.negotiate(accept)
    assert (chosen.kind, chosen.mime) == (kind, mime)


def test_406_names_the_types_as_postgrest_decodes_them():
    with pytest.raises(ApiError) as caught:
        media.negotiate("text/plain; charset=x, application/vnd.pgrst.plan+text;for=\"text/csv\", foo/bar;v=1")
    assert caught.value.status == 406
    assert caught.value.message == ('None of these media types are available: text/plain, '
                                    'application/vnd.pgrst.plan+text; for="text/csv", foo/bar;v=1')


def test_csv_bodies():
    assert media.body_json(b'a,b\n"x, y",NULL\n\n', "text/csv") == [{"a": "x, y", "b": None}]
    assert media.body_json(b"", "text/csv") == []
    with pytest.raises(ApiError, match="All lines must have same number of fields"):
        media.body_json(b"a,b\nfoo,bar\nbaz", "text/csv")
    with pytest.raises(ApiError) as caught:
        media.body_json(b"x", "application/xml")
    assert (caught.value.status, caught.value.code) == (400, "PGRST102")


def test_form_bodies_keep_the_last_of_a_repeated_key():
    assert media.body_json(b"a=1&b=x+y%26&a=2", "application/x-www-form-urlencoded") == {"a": "2", "b": "x y&"}


def test_content_location_sorts_groups_and_escapes_like_v14():
    pairs = [("select", "id"), ("b", "eq.1"), ("a", "eq. x"), ("b", "lt.é")]
    # v14 escapes the UTF-8 bytes of é as characters of their own: %C3%83%C2%A9
    assert rest.content_location("t", pairs) == "/t?a=eq.%20x&b=eq.1,lt.%C3%83%C2%A9&select=id"
