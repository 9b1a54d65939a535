"""Identity rules from configuration: placeholders refused, bad rules refused at load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakecdp.identity.rules import BLOCKLISTED, IdentityRules
from lakecdp.kernel.config import ConfigError, load_config
from tests.conftest import CONFIG_FILE


def rules() -> IdentityRules:
    return IdentityRules.from_config(load_config(CONFIG_FILE, environ={}))


@pytest.mark.parametrize(
    ("id_type", "raw", "region"),
    [
        ("email", "Test@Test.com", None),
        ("email", "unknown", None),
        ("email", "noemail@shop.sg", None),  # pattern on the normal form
        ("phone", "9999 9999", "SG"),  # a valid Singapore mobile number, but a placeholder
        ("phone", "+65 8888 8888", "SG"),
        ("phone", "-", "SG"),
    ],
)
def test_placeholders_are_blocklisted(id_type: str, raw: str, region: str | None) -> None:
    assert rules().normalize(id_type, raw, region).reason == BLOCKLISTED


def test_real_values_pass_with_their_normal_form() -> None:
    r = rules()
    assert r.normalize("phone", "9123 4567", "SG").value == "+6591234567"
    assert r.normalize("email", " Ann.Lee+promo@GMAIL.com ", None).value == "annlee@gmail.com"
    assert r.normalize("loyalty_id", "ly-0000 12", None).value == "LY000012"


def test_malformed_values_come_back_with_a_reason_not_an_exception() -> None:
    r = rules()
    assert r.normalize("phone", "call me", "SG").reason == "unparsable"
    assert r.normalize("email", "ann@", None).reason == "invalid_format"
    assert r.normalize("device_id", "00000000-0000-0000-0000-000000000000", None).reason


def _load_with(tmp_path: Path, **identity: object) -> None:
    data = yaml.safe_load(CONFIG_FILE.read_text())
    data["identity"].update(identity)
    path = tmp_path / "lakecdp.yaml"
    path.write_text(yaml.safe_dump(data))
    load_config(path, environ={})


def test_unknown_identifier_type_in_rules_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"identity.blocklist.fax: unknown identifier type"):
        _load_with(tmp_path, blocklist={"fax": ["0"]})
    with pytest.raises(ConfigError, match=r"never_link: 'fax:1' has unknown identifier type"):
        _load_with(tmp_path, never_link=[["fax:1", "email:a@b.co"]])


def test_impossible_limit_fails_at_load(tmp_path: Path) -> None:
    data = yaml.safe_load(CONFIG_FILE.read_text())
    data["identifier_types"]["email"]["max_per_profile"] = 500
    path = tmp_path / "lakecdp.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"max_per_profile: 500 can never be reached"):
        load_config(path, environ={})
    data["identifier_types"]["email"]["max_per_profile"] = 0
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"identifier_types.email.max_per_profile"):
        load_config(path, environ={})


def test_bad_pattern_and_unknown_event_field_fail_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid pattern"):
        _load_with(tmp_path, blocklist_patterns={"email": ["("]})
    with pytest.raises(ConfigError, match="neither an event column"):
        _load_with(tmp_path, events={"identifiers": {"email_address": "email"}})
