"""Tests for sessiontui.config: defaults, a full file, and every kind of error with its line."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from sessiontui.config import (
    COLUMN_IDS,
    CONFIG_KEYS,
    Config,
    ConfigError,
    default_config_path,
    find_line,
    load_config,
)
from sessiontui.errors import SessiontuiError
from sessiontui.ui.actions import BINDING_IDS

FULL = """\
# every key
registry_dirs = ["~/other/sessions", "/abs/sessions", "rel/sessions"]
tmux_sockets = ["/tmp/tmux-1000/work", "~/sock"]
zellij = false
grace_period_s = 2.5
bell_on_waiting = false
notify_waiting = false
waiting_notify_delay_s = 0
theme = "light"
columns = ["status", "name", "activity"]
sort = "activity"
group = "mux"
claude_executable = "~/bin/claude"
tmux_popup = false

[keymap]
attach = "enter,l"
"quit" = "q,Q"

[context_windows]
"claude-opus-4" = 200000
"gpt-5.1" = 400_000
o3 = 1
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path, text: str, **kwargs: object) -> ConfigError:
    write(path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    return info.value


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "conf" / "config.toml"


# -- where the file is ------------------------------------------------------------------


def test_default_path_follows_xdg_config_home(tmp_path: Path) -> None:
    # tests/conftest.py sets XDG_CONFIG_HOME to tmp_path / "config".
    expected = tmp_path / "config" / "sessiontui" / "config.toml"
    assert default_config_path() == expected
    assert default_config_path({}) == expected


def test_missing_default_file_gives_defaults() -> None:
    assert not default_config_path().exists()
    config = load_config()
    assert config == Config()
    assert config.registry_dirs == ()
    assert config.tmux_sockets == ()
    assert config.zellij is True
    assert config.grace_period_s == 5.0
    assert config.bell_on_waiting is True
    assert config.notify_waiting is True
    assert config.waiting_notify_delay_s == 2.0
    assert config.theme is None
    assert config.columns is None
    assert dict(config.keymap) == {}
    assert config.claude_executable is None
    assert config.tmux_popup is True


def test_default_file_is_read_when_present() -> None:
    write(default_config_path(), "zellij = false\n")
    assert load_config().zellij is False


def test_empty_file_gives_defaults(cfg: Path) -> None:
    write(cfg, "# nothing set\n")
    assert load_config(cfg) == Config()


def test_env_variable_overrides_default(cfg: Path) -> None:
    write(default_config_path(), "grace_period_s = 1\n")
    write(cfg, "grace_period_s = 7\n")
    assert load_config(environ={"SESSIONTUI_CONFIG": str(cfg)}).grace_period_s == 7.0
    assert load_config(environ={"SESSIONTUI_CONFIG": ""}).grace_period_s == 1.0
    assert default_config_path({"SESSIONTUI_CONFIG": str(cfg)}) == cfg


def test_env_variable_from_the_process_environment(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(cfg, "theme = 'ansi'\n")
    monkeypatch.setenv("SESSIONTUI_CONFIG", str(cfg))
    assert load_config().theme == "ansi"


def test_explicit_path_overrides_env(cfg: Path, tmp_path: Path) -> None:
    other = write(tmp_path / "other.toml", "grace_period_s = 9\n")
    write(cfg, "grace_period_s = 7\n")
    config = load_config(other, environ={"SESSIONTUI_CONFIG": str(cfg)})
    assert config.grace_period_s == 9.0


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="no such configuration file") as info:
        load_config(missing)
    assert str(info.value) == f"{missing}: no such configuration file"
    assert isinstance(info.value, SessiontuiError)


def test_env_named_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(environ={"SESSIONTUI_CONFIG": str(missing)})


# -- a full valid file ------------------------------------------------------------------


def test_full_valid_file(cfg: Path) -> None:
    write(cfg, FULL)
    config = load_config(cfg)
    home = Path(os.environ["HOME"])
    assert config.registry_dirs == (
        home / "other" / "sessions",
        Path("/abs/sessions"),
        cfg.parent / "rel" / "sessions",
    )
    assert config.tmux_sockets == ("/tmp/tmux-1000/work", f"{home}/sock")
    assert config.zellij is False
    assert config.grace_period_s == 2.5
    assert config.bell_on_waiting is False
    assert config.notify_waiting is False
    assert config.waiting_notify_delay_s == 0.0
    assert isinstance(config.waiting_notify_delay_s, float)
    assert config.theme == "light"
    assert config.columns == ("status", "name", "activity")
    assert (config.sort, config.group) == ("activity", "mux")
    assert dict(config.keymap) == {"attach": "enter,l", "quit": "q,Q"}
    assert config.claude_executable == f"{home}/bin/claude"
    assert config.tmux_popup is False
    with pytest.raises(TypeError):
        config.keymap["attach"] = "x"  # type: ignore[index]
    assert dict(config.context_windows) == {"claude-opus-4": 200_000, "gpt-5.1": 400_000, "o3": 1}
    with pytest.raises(TypeError):
        config.context_windows["o3"] = 2  # type: ignore[index]


def test_module_docstring_example_is_valid(cfg: Path) -> None:
    import sessiontui.config as module

    doc = module.__doc__ or ""
    example = doc.split("an example with every key::", 1)[1]
    example = example.split("Any mistake", 1)[0]
    assert "[keymap]" in example
    write(cfg, textwrap.dedent(example.strip("\n")))
    config = load_config(cfg)
    assert config.keymap["attach"] == "enter,l"
    assert config.columns == ("status", "name", "where", "activity")
    assert dict(config.context_windows) == {"claude-opus-4": 200_000, "gpt-5": 400_000}


def test_dotted_and_inline_keymap_forms(cfg: Path) -> None:
    write(cfg, 'keymap.attach = "l"\n')
    assert dict(load_config(cfg).keymap) == {"attach": "l"}
    write(cfg, 'keymap = {help = "?,f1"}\n')
    assert dict(load_config(cfg).keymap) == {"help": "?,f1"}


def test_keys_and_columns_constants() -> None:
    assert "keymap" in CONFIG_KEYS
    assert set(Config.__dataclass_fields__) == set(CONFIG_KEYS)
    assert COLUMN_IDS == (
        "status",
        "name",
        "agent",
        "where",
        "cwd",
        "age",
        "activity",
        "ctx",
        "cpu",
    )
    assert "attach" in BINDING_IDS
    assert "quit_bg" in BINDING_IDS


def test_integer_grace_period_becomes_float(cfg: Path) -> None:
    write(cfg, "grace_period_s = 600\n")
    config = load_config(cfg)
    assert config.grace_period_s == 600.0
    assert isinstance(config.grace_period_s, float)


# -- errors, with exact lines -----------------------------------------------------------


def test_unknown_key_names_line_and_suggestion(cfg: Path) -> None:
    text = """\
    # comment
    zellij = true

    # more


    gracee_period_s = 3
    """
    error = error_of(cfg, text)
    assert str(error) == (
        f"{cfg}:7: unknown key 'gracee_period_s' (did you mean 'grace_period_s'?)"
    )


def test_unknown_key_without_a_close_match(cfg: Path) -> None:
    error = error_of(cfg, "zellij = true\nfrobnicate = 1\n")
    assert str(error) == f"{cfg}:2: unknown key 'frobnicate'"


def test_unknown_table_is_reported_at_its_header(cfg: Path) -> None:
    error = error_of(cfg, 'zellij = true\n\n[keymaps]\nattach = "o"\n')
    assert str(error) == f"{cfg}:3: unknown key 'keymaps' (did you mean 'keymap'?)"


def test_syntax_error_has_line_and_column(cfg: Path) -> None:
    error = error_of(cfg, "zellij = true\ntheme = nord\nbell_on_waiting = true\n")
    assert str(error) == f"{cfg}:2:9: invalid TOML: Invalid value"
    assert "invalid TOML" in str(error)
    assert "(at line" not in str(error)


def test_syntax_error_duplicate_key(cfg: Path) -> None:
    error = error_of(cfg, "zellij = true\nzellij = false\n")
    assert str(error).startswith(f"{cfg}:2:")
    assert str(error).endswith(": invalid TOML: Cannot overwrite a value")


def test_syntax_error_at_end_of_file(cfg: Path) -> None:
    error = error_of(cfg, 'zellij = true\ncolumns = ["status",\n  "name",')
    assert str(error).startswith(f"{cfg}:3:")
    assert "at end of file" in str(error)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("grace_period_s = 0", "'grace_period_s' must be a number greater than 0 and at most 600"),
        ("grace_period_s = -1.5", "greater than 0"),
        ("grace_period_s = 600.5", "at most 600"),
        ("grace_period_s = nan", "greater than 0"),
        ("grace_period_s = inf", "greater than 0"),
        ("grace_period_s = 99999999999999999999", "at most 600"),
        ("grace_period_s = true", "(got True)"),
        ('grace_period_s = "5"', "(got '5')"),
        ("waiting_notify_delay_s = -1", "at least 0 and at most 3600"),
        ("waiting_notify_delay_s = 3601", "at least 0 and at most 3600"),
        ("zellij = 1", "'zellij' must be true or false (got 1)"),
        ('bell_on_waiting = "yes"', "'bell_on_waiting' must be true or false"),
        ("notify_waiting = 0", "'notify_waiting' must be true or false"),
        ("tmux_popup = []", "'tmux_popup' must be true or false (got an array)"),
        ('theme = ""', '\'theme\' must be one of "dark", "light", "ansi" (got \'\')'),
        ("theme = 3", '\'theme\' must be one of "dark", "light", "ansi" (got 3)'),
        ('theme = "nord"', '\'theme\' must be one of "dark", "light", "ansi" (got \'nord\')'),
        ('theme = "evil\\u001b]0;x"', "(got 'evil\\x1b]0;x')"),
        ('registry_dirs = "/one/dir"', "'registry_dirs' must be an array of non-empty strings"),
        ('registry_dirs = ["ok", 3]', "'registry_dirs' must be an array of non-empty strings"),
        ('tmux_sockets = [""]', "'tmux_sockets' must be an array of non-empty strings"),
        ('columns = ["status", "bogus"]', "'columns' must be a non-empty array of distinct column"),
        ("columns = []", "'columns' must be a non-empty array"),
        ('columns = ["name", "name"]', "distinct column ids"),
        ('claude_executable = "  "', "'claude_executable' must be a non-empty string"),
        ('keymap = "enter"', "'keymap' must be a table, not 'enter'"),
        (
            'sort = "urgncy"',
            """'sort' must be one of "urgency", "project", "activity" (did you mean 'urgency'?)""",
        ),
        ("sort = 1", "'sort' must be one of \"urgency\""),
        (
            'group = "byproject"',
            """'group' must be one of "none", "project", "mux", "host" (did you mean 'project'?)""",
        ),
    ],
)
def test_wrong_type_or_range_names_key_and_line(cfg: Path, line: str, expected: str) -> None:
    filler = "tmux_popup = true" if line.startswith("zellij") else "zellij = true"
    error = error_of(cfg, f"# first\n{filler}\n\n{line}\n")
    message = str(error)
    assert message.startswith(f"{cfg}:4: "), message
    assert expected in message, message
    assert len(error.problems) == 1


def test_every_problem_is_listed_in_file_order(cfg: Path) -> None:
    text = """\
    theme = 5
    zelij = true
    grace_period_s = 0
    """
    error = error_of(cfg, text)
    assert [p.split(": ", 1)[0] for p in error.problems] == [f"{cfg}:1", f"{cfg}:2", f"{cfg}:3"]
    assert str(error).count("\n") == 2
    assert "did you mean 'zellij'?" in error.problems[1]


def test_key_in_a_table_is_not_confused_with_a_top_level_key(cfg: Path) -> None:
    # The bad entry is reported at its line under [keymap], not at an earlier "quit" text.
    text = """\
    theme = "dark"  # quit = ""
    [keymap]
    attach = "l"
    quit = ""
    """
    error = error_of(cfg, text)
    assert error.problems[0].startswith(f"{cfg}:4: keymap 'quit' must be a string")


# -- keymap -----------------------------------------------------------------------------


def test_keymap_unknown_binding_id_with_suggestion(cfg: Path) -> None:
    text = """\
    zellij = true

    [keymap]
    attach = "l"
    atach = "enter"
    """
    error = error_of(cfg, text)
    assert str(error).startswith(
        f"{cfg}:5: unknown binding id 'atach' in [keymap] (did you mean 'attach'?)"
    )


@pytest.mark.parametrize(
    "value",
    ['""', '"enter, o"', '"enter,"', '",o"', '"ctrl c"', "3", '["enter"]', '"a\\tb"'],
)
def test_keymap_bad_key_strings(cfg: Path, value: str) -> None:
    error = error_of(cfg, f"[keymap]\nhelp = {value}\n")
    assert str(error).startswith(f"{cfg}:2: keymap 'help' must be a string of comma-separated")


def test_keymap_ids_can_be_passed_in(cfg: Path) -> None:
    write(cfg, '[keymap]\nzap = "z"\n')
    config = load_config(cfg, binding_ids=("zap",))
    assert dict(config.keymap) == {"zap": "z"}
    error = error_of(cfg, '[keymap]\nattach = "o"\n', binding_ids=("zap",))
    assert "unknown binding id 'attach'" in str(error)


def test_keymap_error_line_for_dotted_key(cfg: Path) -> None:
    error = error_of(cfg, 'zellij = true\nkeymap.atach = "o"\n')
    assert str(error).startswith(f"{cfg}:2: unknown binding id 'atach'")


# -- unreadable files -------------------------------------------------------------------


def test_invalid_utf8_names_line_and_column(cfg: Path) -> None:
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(b'zellij = true\ntheme = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert str(info.value) == f"{cfg}:2:13: not valid UTF-8 (byte 0xe9)"


def test_directory_is_an_error(cfg: Path) -> None:
    cfg.mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"not a regular file|cannot"):
        load_config(cfg)


def test_fifo_is_refused_without_blocking(cfg: Path) -> None:
    cfg.parent.mkdir(parents=True)
    os.mkfifo(cfg)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(cfg)


def test_huge_file_is_refused(cfg: Path) -> None:
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(b"#" * (2 << 20))
    with pytest.raises(ConfigError, match="too large"):
        load_config(cfg)


# -- line finder ------------------------------------------------------------------------


def test_find_line_variants() -> None:
    text = textwrap.dedent(
        """\
        # theme = "commented"
        'theme' = "x"
        "zellij"= true
        keymap.help = "?"
        [[weird]]
        help = 1
        [ keymap ]  # comment
          help = "h"
        """
    )
    assert find_line(text, "theme") == 2
    assert find_line(text, "zellij") == 3
    assert find_line(text, "keymap") == 4
    assert find_line(text, "help", "keymap") == 4
    assert find_line(text, "help") is None  # only inside tables
    assert find_line(text, "weird") == 5
    assert find_line(text.replace('keymap.help = "?"', "#"), "help", "keymap") == 8
    assert find_line(text, "absent") is None


# -- notifications ----------------------------------------------------------------------


def test_notify_list_and_desktop_method(cfg: Path) -> None:
    write(cfg, 'notify = ["desktop", "bell"]\ndesktop_method = "osc9"\n')
    config = load_config(cfg)
    assert config.notify == ("desktop", "bell")
    assert config.notify_channels == {"desktop", "bell"}
    assert config.desktop_method == "osc9"
    assert config.warnings() == []
    write(cfg, "notify = []\n")
    assert load_config(cfg).notify_channels == frozenset()


def test_notify_defaults_and_the_older_keys_map_onto_it(cfg: Path) -> None:
    assert Config().notify_channels == {"bell", "toast"}
    assert Config().desktop_method == "auto"
    assert Config(bell_on_waiting=False).notify_channels == {"toast"}
    assert Config(notify_waiting=False).notify_channels == frozenset()
    write(cfg, 'bell_on_waiting = false\nnotify = ["toast", "desktop"]\n')
    config = load_config(cfg)
    assert config.notify_channels == {"toast", "desktop"}  # notify wins...
    assert config.warnings() == [  # ...and the user is told
        "'bell_on_waiting' and 'notify_waiting' are ignored when 'notify' is set"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('notify = ["bell", "dekstop"]', "'dekstop' is not one (did you mean 'desktop'?)"),
        ('notify = ["bell", 3]', "3 is not one"),
        ('notify = ["bell", "bell"]', "(each once)"),
        ('notify = "bell"', "'notify' must be an array of distinct entries from: bell, toast"),
        ('desktop_method = "growl"', '\'desktop_method\' must be one of "auto", "osc777"'),
    ],
)
def test_bad_notify_settings_name_the_key_and_line(cfg: Path, line: str, message: str) -> None:
    error = error_of(cfg, f"zellij = true\n{line}\n")
    assert str(error).startswith(f"{cfg}:2: ")
    assert message in str(error)


def test_readme_toml_blocks_are_valid(cfg: Path) -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    blocks = re.findall(r"^```toml\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    assert any("desktop" in block for block in blocks)
    for block in blocks:
        write(cfg, block)
        load_config(cfg)  # raises ConfigError for a bad example


# -- [context_windows] ------------------------------------------------------------------


def test_context_windows_default_is_an_empty_table(cfg: Path) -> None:
    write(cfg, "zellij = true\n")
    assert dict(load_config(cfg).context_windows) == {}


def test_context_windows_inline_and_dotted_forms(cfg: Path) -> None:
    write(cfg, 'context_windows = {"gpt-5" = 400000, "claude-opus-4-8[1m]" = 1000000}\n')
    assert dict(load_config(cfg).context_windows) == {
        "gpt-5": 400_000,
        "claude-opus-4-8[1m]": 1_000_000,
    }
    write(cfg, 'context_windows."gpt-5" = 400000\n')
    assert dict(load_config(cfg).context_windows) == {"gpt-5": 400_000}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('"gpt-5" = 0', "context_windows 'gpt-5' must be a whole number of tokens greater than 0"),
        ('"gpt-5" = -400000', "greater than 0 and at most 100,000,000 (got -400000)"),
        ('"gpt-5" = 100_000_001', "at most 100,000,000 (got 100000001)"),
        ('"gpt-5" = 99999999999999999999999', "at most 100,000,000"),
        ('"gpt-5" = 400000.0', "(got 400000.0)"),
        ('"gpt-5" = nan', "(got nan)"),
        ('"gpt-5" = true', "(got True)"),
        ('"gpt-5" = "400k"', "(got '400k')"),
        ('"gpt-5" = [400000]', "(got an array)"),
        ("gpt-5.1 = 400000", "not a table; quote a model name that has a dot in it"),
        ('"" = 400000', "model names must be non-empty printable strings"),
        ('"  " = 400000', "model names must be non-empty printable strings"),
        (f'"{"m" * 201}" = 400000', "at most 200 characters"),
    ],
)
def test_bad_context_windows_name_the_entry_and_line(cfg: Path, entry: str, expected: str) -> None:
    error = error_of(cfg, f'zellij = true\n\n[context_windows]\n"ok" = 5\n{entry}\n')
    message = str(error)
    assert message.startswith(f"{cfg}:5: "), message
    assert expected in message, message
    assert len(error.problems) == 1


def test_context_window_name_with_an_escape_is_shown_escaped(cfg: Path) -> None:
    """A name spelled with an escape cannot be found by text: the table's line is given."""
    error = error_of(cfg, '[context_windows]\n"evil\\u001b]0;x" = 400000\n')
    assert str(error).startswith(f"{cfg}:1: [context_windows] model names"), str(error)
    assert "(got 'evil\\x1b]0;x')" in str(error)


def test_context_windows_must_be_a_table(cfg: Path) -> None:
    error = error_of(cfg, "zellij = true\ncontext_windows = 400000\n")
    assert str(error) == (
        f"{cfg}:2: 'context_windows' must be a table of model name = tokens, not 400000"
    )


def test_every_bad_context_window_is_listed(cfg: Path) -> None:
    text = """\
    [context_windows]
    "a" = 0
    "b" = 10
    "c" = "x"
    """
    error = error_of(cfg, text)
    assert [p.split(": ", 1)[0] for p in error.problems] == [f"{cfg}:2", f"{cfg}:4"]
