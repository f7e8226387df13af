from roost.runtime.local.running import expand_command


def test_port_and_braced_names_are_filled_in_without_a_shell() -> None:
    env = {"PORT": "8123", "NAME": "web v1"}
    assert expand_command(["srv", "--port=$PORT", "${NAME}", "*.py"], env) == [
        "srv",
        "--port=8123",
        "web v1",  # one word: nothing is split
        "*.py",  # nothing is globbed
    ]


def test_unknown_names_and_double_dollars_stay_as_written() -> None:
    assert expand_command(["echo", "$MISSING", "$$", "${ALSO_MISSING}x"], {}) == [
        "echo",
        "$MISSING",
        "$",
        "${ALSO_MISSING}x",
    ]
