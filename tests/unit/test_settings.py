"""Settings: defaults < TOML file < environment, validated with clear errors."""

from pathlib import Path

import pytest

from ivr_engine.errors import ConfigError
from ivr_engine.settings import load_settings


def test_defaults_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "ivr.toml"
    path.write_text(
        'timezone = "Asia/Tokyo"\nhttp_port = 9000\n[ari]\nurl = "http://pbx:8088/ari"\n'
        'app = "from-file"\n',
        encoding="utf-8",
    )
    defaults = load_settings(env={})
    assert defaults.timezone == "Asia/Seoul" and defaults.ari.url == ""
    from_file = load_settings(path, env={})
    assert (from_file.timezone, from_file.http_port, from_file.ari.app) == (
        "Asia/Tokyo",
        9000,
        "from-file",
    )
    env = {
        "IVR_ARI_APP": "from-env",
        "IVR_HTTP_PORT": "9100",
        "DATABASE_URL": "postgresql://db/ivr",
        "IVR_METRICS_PER_NUMBER": "yes",
    }
    both = load_settings(path, env=env)
    assert (both.ari.app, both.http_port, both.ari.url) == ("from-env", 9100, "http://pbx:8088/ari")
    assert both.database_url == "postgresql://db/ivr" and both.metrics_per_number is True


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('node = "pbx-2"\n', encoding="utf-8")
    assert load_settings(env={"IVR_CONFIG": str(path)}).node == "pbx-2"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IVR_TIMEZONE": "Mars/Olympus"}, "unknown time zone"),
        ({"IVR_HTTP_PORT": "eighty"}, "IVR_HTTP_PORT: expected an integer"),
        ({"IVR_HTTP_PORT": "70000"}, "is not a TCP port"),
        ({"IVR_ARI_URL": "pbx:8088"}, "ari.url"),
        ({"DATABASE_URL": "mysql://x"}, "database_url"),
        ({"IVR_METRICS_PER_NUMBER": "maybe"}, "expected true or false"),
        ({"IVR_PROMPTS_ENGINE": "festival"}, "prompts.engine"),
        ({"IVR_METRICS_NUMBER_CAP": "-1"}, "metrics_number_cap"),
    ],
)
def test_bad_values_are_refused_with_where(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(env=env)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[ari\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(unknown, env={})
