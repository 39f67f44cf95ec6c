"""kiosk doctor against the real reference server: a valid token, then the same token revoked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kiosk import config, doctor

embedded = pytest.importorskip("kiosk.server.embedded")


def test_token_valid_then_revoked_on_the_real_server(tmp_path: Path) -> None:
    server_cfg = config.ServerConfig(server=config.ServerSection(data_dir=tmp_path / "server",
                                                                 admin_token_file=tmp_path / "admin.token"))
    token_file = tmp_path / "station.token"
    base = config.StationConfig()
    with embedded.EmbeddedServer(server_cfg) as server:
        token_file.write_text(server.issue_station_token("st-07"))
        token_file.chmod(0o600)
        cfg = replace(base, station=replace(base.station, id="st-07", data_dir=tmp_path),
                      sync=replace(base.sync, server_url=server.base_url, token_file=token_file))
        found = {f.name: f for f in doctor.run_checks(cfg, doctor.Probes(), checks=(doctor.check_server,))}
        assert [found[n].message_key for n in ("server", "clock", "token")] == [
            "doctor.server.ok", "doctor.clock.ok", "doctor.token.ok"]

        assert server.revoke_station_token("st-07")
        found = {f.name: f for f in doctor.run_checks(cfg, doctor.Probes(), checks=(doctor.check_server,))}
        assert found["token"].message_key == "doctor.token.refused"
        assert found["server"].ok
