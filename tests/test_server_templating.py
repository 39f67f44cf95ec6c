"""The server's page environment escapes every value and speaks both languages."""

from kiosk.server.templating import environment, page_language


def test_values_are_escaped() -> None:
    assert environment().from_string("{{ x }}").render(x="<script>") == "&lt;script&gt;"


def test_unknown_language_falls_back_to_chinese() -> None:
    assert page_language("en") == "en"
    assert page_language("fr") == "zh"
    assert page_language(None) == "zh"
