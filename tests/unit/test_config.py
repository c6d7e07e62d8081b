"""Config loading: embedded defaults, listen forms, and errors naming file, line, field, reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from trunkline.config import Config, ConfigError, load_config
from trunkline.config.load import parse_config
from trunkline.config.schema import Listen

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def error_of(text: str, name: str = "t.yaml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, name)
    return str(info.value)


# ---- defaults ----------------------------------------------------------------------------
def test_no_file_means_embedded_defaults() -> None:
    config = load_config(None)
    assert [(li.transport, li.host, li.port) for li in config.listen] == [
        ("udp", "127.0.0.1", 5060),
        ("tcp", "127.0.0.1", 5060),
    ]
    assert config.proxy.routes == []
    assert config.proxy.record_route is True
    assert config.tls.certfile is None


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_is_the_defaults(text: str) -> None:
    assert parse_config(text) == Config()


def test_config_is_immutable() -> None:
    config = Config()
    with pytest.raises(ValidationError):
        config.user_agent = "x"


# ---- listen forms --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("udp:127.0.0.1:5060", ("udp", "127.0.0.1", 5060)),
        ("TCP:127.0.0.1:5070", ("tcp", "127.0.0.1", 5070)),
        ("udp:127.0.0.1", ("udp", "127.0.0.1", 5060)),
        ("tls:127.0.0.1", ("tls", "127.0.0.1", 5061)),
        ("ws:127.0.0.1", ("ws", "127.0.0.1", 80)),
        ("wss:127.0.0.1", ("wss", "127.0.0.1", 443)),
        ("udp:[::1]:5060", ("udp", "::1", 5060)),
        ("tcp:[::1]", ("tcp", "::1", 5060)),
        ("udp:[2001:DB8::1]:5062", ("udp", "2001:db8::1", 5062)),
        ("udp:0.0.0.0:0", ("udp", "0.0.0.0", 0)),
    ],
)
def test_listen_string_forms(text: str, expected: tuple[str, str, int]) -> None:
    listen = Listen.model_validate(text)
    assert (listen.transport, listen.host, listen.port) == expected


def test_listen_mapping_form_and_ipv6_in_a_file() -> None:
    config = parse_config(
        "listen:\n"
        "  - {transport: udp, host: '::1', port: 5062}\n"
        "  - 'udp:[::1]:5060'\n"
        "  - tcp:127.0.0.1:5060\n"
    )
    assert [(li.transport, li.host, li.port) for li in config.listen] == [
        ("udp", "::1", 5062),
        ("udp", "::1", 5060),
        ("tcp", "127.0.0.1", 5060),
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("udp:::1:5060", "expected transport:host[:port]"),  # IPv6 needs brackets
        ("udp:localhost:5060", "listen host must be an IP address, not 'localhost'"),
        ("sctp:127.0.0.1:5060", "Input should be 'udp', 'tcp', 'tls', 'ws' or 'wss'"),
        ("udp:127.0.0.1:70000", "less than or equal to 65535"),
        ("udp", "expected transport:host[:port]"),
    ],
)
def test_bad_listen_entries_name_their_line(value: str, reason: str) -> None:
    message = error_of(f"listen:\n  - udp:127.0.0.1:5060\n  - '{value}'\n")
    assert message.startswith("t.yaml:3: listen.1"), message
    assert reason in message


# ---- errors: file, line, field, reason -----------------------------------------------------
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<field>\S+): (?P<reason>.+)$")


def parts(message: str) -> tuple[str, int, str, str]:
    m = ERROR.match(message)
    assert m is not None, message
    return m["file"], int(m["line"]), m["field"], m["reason"]


def test_bad_yaml_names_the_line() -> None:
    text = "listen:\n  - udp:127.0.0.1:5060\nproxy:\n  routes: [\n    {targets: x}\n  oops: 1\n"
    assert error_of(text) == "t.yaml:6: invalid YAML: expected ',' or ']', but got '<scalar>'"


def test_tab_indentation_is_bad_yaml() -> None:
    message = error_of("listen:\n\t- udp:127.0.0.1\n")
    assert message.startswith("t.yaml:2: invalid YAML: found character '\\t'"), message


def test_unknown_key_is_refused_with_its_line() -> None:
    text = "listen:\n  - udp:127.0.0.1:5060\nproxy:\n  record_route: true\n  routez: []\n"
    assert parts(error_of(text)) == (
        "t.yaml",
        5,
        "proxy.routez",
        "Extra inputs are not permitted",
    )


def test_unknown_top_level_key() -> None:
    assert parts(error_of("log:\n  level: info\nlisten_on: []\n"))[:3] == ("t.yaml", 3, "listen_on")


def test_bad_value_nested_in_a_list() -> None:
    text = (
        "proxy:\n"
        "  routes:\n"
        "    - name: a\n"
        "      targets: ['sip:127.0.0.1:5070']\n"
        "    - name: b\n"
        "      targets: ['sip:127.0.0.1:5072']\n"
        "      fork: sideways\n"
    )
    assert parts(error_of(text)) == (
        "t.yaml",
        7,
        "proxy.routes.1.fork",
        "Input should be 'serial' or 'parallel'",
    )


def test_bad_item_of_a_list_names_the_items_line() -> None:
    text = (
        "proxy:\n"
        "  routes:\n"
        "    - targets:\n"
        "        - sip:127.0.0.1:5070\n"
        "        - sip:gw.example.com\n"
    )
    assert parts(error_of(text)) == (
        "t.yaml",
        5,
        "proxy.routes.0.targets.1",
        "route target host must be an IP address (no DNS yet)",
    )


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        (
            "proxy:\n  trusted_networks:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n",
            4,
            "proxy.trusted_networks.1",
            "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network",
        ),
        (
            "proxy:\n  routes:\n    - match:\n        source: [nowhere]\n"
            "      targets: [sip:127.0.0.1]\n",
            4,
            "proxy.routes.0.match.source.0",
            "'nowhere' does not appear to be an IPv4 or IPv6 network",
        ),
        (
            "proxy:\n  routes:\n    - match:\n        user: '('\n      targets: [sip:127.0.0.1]\n",
            4,
            "proxy.routes.0.match.user",
            "bad regular expression: missing ), unterminated subpattern at position 0",
        ),
        (
            "proxy:\n  routes:\n    - targets: []\n",
            3,
            "proxy.routes.0.targets",
            "List should have at least 1 item after validation, not 0",
        ),
        (
            "proxy:\n  routes:\n    - targets: ['tel:+15551234567']\n",
            3,
            "proxy.routes.0.targets.0",
            "a route target must be a sip: or sips: URI",
        ),
        (
            "timers:\n  t1: 0.5\n  timer_c: 100\n",
            3,
            "timers.timer_c",
            "Input should be greater than or equal to 180",
        ),
        ("log:\n  level: loud\n", 2, "log.level", "Input should be 'debug', 'info', 'warning'"),
        ("listen: []\n", 1, "listen", "List should have at least 1 item"),
        (
            "limits:\n  max_header: lots\n",
            2,
            "limits.max_header",
            "Input should be a valid integer",
        ),
    ],
)
def test_each_kind_of_value_error(text: str, line: int, field: str, reason: str) -> None:
    file, got_line, got_field, got_reason = parts(error_of(text))
    assert (file, got_line, got_field) == ("t.yaml", line, field)
    assert got_reason.startswith(reason), got_reason


def test_tls_listener_without_certificates_names_the_listener_line() -> None:
    text = "listen:\n  - udp:127.0.0.1:5060\n  - tls:127.0.0.1:5061\ntls:\n  cafile: ca.pem\n"
    assert parts(error_of(text)) == (
        "t.yaml",
        3,
        "listen.1",
        "tls/wss listeners need tls.certfile and tls.keyfile",
    )


def test_several_errors_name_the_first_and_count_the_rest() -> None:
    message = error_of("listen:\n  - wss:127.0.0.1\n  - tls:127.0.0.1\n")
    assert message.startswith("t.yaml:2: listen.0: tls/wss listeners need")
    assert message.endswith("(and 1 more)")


def test_tls_check_also_guards_configs_built_in_code() -> None:
    with pytest.raises(ValidationError) as info:
        Config(listen=[Listen(transport="wss", host="127.0.0.1", port=443)])
    assert [e["loc"] for e in info.value.errors()] == [("listen", 0)]


def test_tls_listener_with_certificates_is_accepted() -> None:
    config = parse_config("listen: [tls:127.0.0.1]\ntls: {certfile: c.pem, keyfile: k.pem}\n")
    assert config.listen[0].port == 5061


def test_duplicate_key_is_refused() -> None:
    """YAML would keep the last value silently: the first setting would be lost unseen."""
    text = "log:\n  level: info\nproxy:\n  record_route: false\n  record_route: true\n"
    assert parts(error_of(text)) == (
        "t.yaml",
        5,
        "proxy.record_route",
        "duplicate key (set once)",
    )


def test_top_level_must_be_a_mapping() -> None:
    assert error_of("- udp:127.0.0.1\n") == "t.yaml:1: the top level must be a mapping of settings"


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_config(missing)


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("log:\n  level: info\n  colour: blue\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:3: log.colour: Extra inputs are not permitted"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(path: Path) -> None:
    config = load_config(path)
    assert config.listen


def test_the_full_example_sets_every_default() -> None:
    """examples/trunkline.yaml documents every setting with its default (routes aside)."""
    (full,) = (p for p in EXAMPLES if p.name == "trunkline.yaml")
    config = load_config(full)
    defaults = Config()
    assert config.model_dump(exclude={"proxy": {"routes"}}) == defaults.model_dump(
        exclude={"proxy": {"routes"}}
    )
