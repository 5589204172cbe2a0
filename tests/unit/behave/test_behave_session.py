"""``context.api`` without a configured base URL explains how to configure one."""

from __future__ import annotations

from pathlib import Path

import pytest

from qhub.behave.session import MissingAPI, QHubSession
from qhub.config import load_config
from qhub.exceptions import ConfigError


class TestMissingAPI:
    """The stand-in for ``context.api`` when ``api.base_url`` is unset."""

    def test_any_use_raises_a_config_error_naming_the_setting(self) -> None:
        api = MissingAPI()
        assert not api
        with pytest.raises(ConfigError, match=r"set api\.base_url \(QHUB_API_BASE_URL"):
            api.get("/pets")

    def test_session_api_without_base_url_raises_the_same_error(self, tmp_path: Path) -> None:
        session = QHubSession(config=load_config(tmp_path, environ={}))
        assert isinstance(session.default_api, MissingAPI)
        with pytest.raises(ConfigError, match=r"context\.api is not configured"):
            session.api()
