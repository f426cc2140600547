"""The language of what planerka-sync says to the person at the terminal: the config's
``locale`` once a config is read, the user's LANG before that (``init``, a missing file)."""

from __future__ import annotations

import os

_config_locale: str | None = None


def use_config_locale(locale: str) -> None:
    """From now on speak the config's language (called when the config is read)."""
    global _config_locale
    _config_locale = locale


def locale() -> str:
    if _config_locale is not None:
        return _config_locale
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(variable):
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"


def t(en: str, ru: str) -> str:
    """A message in the user's language: ``t("created", "создана")``. The two texts side by
    side keep each message and its translation in one place, where it is used."""
    return ru if locale() == "ru" else en
