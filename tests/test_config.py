"""The config schema: defaults, shipped files, and messages for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import config
from kiosk.cli import main
from kiosk.text import table

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_files_are_the_rendered_schema() -> None:
    station = config.render_toml(config.StationConfig, "Capture station (kiosk.toml)")
    server = config.render_toml(config.ServerConfig, "Reference collection server (server.toml)")
    assert (ROOT / "config/kiosk.toml").read_text("utf-8") == station
    assert (ROOT / "config/server.toml").read_text("utf-8") == server


def test_shipped_files_load_to_defaults() -> None:
    assert config.load_station(ROOT / "config/kiosk.toml") == config.StationConfig()
    assert config.load_server(ROOT / "config/server.toml") == config.ServerConfig()


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[station]\nnope = 1\n", "station.nope", "unknown key"),
        ("[nope]\n", "nope", "unknown key"),
        ("[flow]\nidle_timeout_s = 'soon'\n", "flow.idle_timeout_s", "a number from 5 to 600"),
        ("[flow]\nidle_timeout_s = 1\n", "flow.idle_timeout_s", "from 5 to 600"),
        ("[scanner]\nbackend = 'magic'\n", "scanner.backend", "'zxing', 'zbar'"),
        ("[camera]\nmjpg = 'yes'\n", "camera.mjpg", "true or false"),
        ("[camera]\nwidth = 1280.5\n", "camera.width", "a whole number"),
        ("[codes]\nformats = 'reference'\n", "codes.formats", "a list of strings"),
        ("station = 3\n", "station", "a table"),
        ("[portrait]\njpeg_min_kb = 50\n", "portrait.jpeg_min_kb", "less than jpeg_max_kb"),
        ("[sync]\nbackoff_base_s = 600\nbackoff_cap_s = 60\n", "sync.backoff_base_s", "no greater than backoff_cap_s"),
    ],
)
def test_bad_values_name_file_key_and_form(text: str, key: str, fragment: str) -> None:
    with pytest.raises(config.ConfigError) as info:
        config.parse(config.StationConfig, text, "kiosk.toml")
    message = info.value.message("en")
    assert "kiosk.toml" in message
    assert key in message
    assert fragment in message


@pytest.mark.parametrize("url", [
    "http://photos.example.edu.cn", "ftp://photos.example.edu.cn", "https://user:pw@photos.example.edu.cn",
    "https://user@photos.example.edu.cn", "http://user:pw@127.0.0.1:8700", "file:///etc/passwd",
    "photos.example.edu.cn",
    "https://", "https://photos.example.edu.cn:99999", "https://photos.example.edu.cn/?x=1", " https://a.example",
    "https://a.example/\\r\\nX: y", "javascript:alert(1)", "http://10.0.0.5:8700", "http://127.0.0.1.example.com",
])
def test_server_url_is_https_or_plain_http_to_this_machine_only(url: str) -> None:
    text = f'[sync]\nserver_url = "{url}"\n'
    with pytest.raises(config.ConfigError) as info:
        config.parse(config.StationConfig, text, "kiosk.toml")
    message = info.value.message("en")
    assert "kiosk.toml" in message and "sync.server_url" in message and "https://" in message


@pytest.mark.parametrize("url", ["https://photos.example.edu.cn", "https://photos.example.edu.cn:8443/kiosk/",
                                 "http://127.0.0.1:8700", "http://localhost:8700", "http://[::1]:8700", ""])
def test_good_server_urls_load(url: str) -> None:
    assert config.parse(config.StationConfig, f'[sync]\nserver_url = "{url}"\n').sync.server_url == url


def test_broken_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError) as info:
        config.parse(config.StationConfig, "[station\n", "x.toml")
    assert "x.toml" in info.value.message("zh")
    with pytest.raises(config.ConfigError):
        config.load_station(tmp_path / "missing.toml")


def test_values_are_typed(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text("[station]\ndata_dir = '/tmp/x'\n[flow]\nidle_timeout_s = 30\n", "utf-8")
    cfg = config.load_station(f)
    assert cfg.station.data_dir == Path("/tmp/x")
    assert isinstance(cfg.flow.idle_timeout_s, float)


def test_cli_check_reports_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "k.toml"
    f.write_text("[flow]\nmax_retakes = -1\n", "utf-8")
    assert main(["config", "check", str(f)]) == 2
    err = capsys.readouterr().err
    assert "flow.max_retakes" in err
    assert "Traceback" not in err


def test_every_string_has_both_languages() -> None:
    for key, entry in table().items():
        assert entry.zh.strip() and entry.en.strip(), key
