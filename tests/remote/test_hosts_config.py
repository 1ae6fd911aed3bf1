"""``[[hosts]]`` in the configuration, ``-H/--host`` on the command line, and the ssh argv."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from sessiontui.cli import main, parse_args, resolve_hosts
from sessiontui.config import Config, ConfigError, load_config
from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.link import SshTransport, remote_command_line

if TYPE_CHECKING:
    from pathlib import Path


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path)


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_hosts_entries_are_read_in_order(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """\
        ssh_command = ["ssh", "-F", "~/ssh_config"]

        [[hosts]]
        name = "build"
        ssh = "me@build.example"
        ssh_options = ["-p", "2222", "-i", "~/.ssh/box"]
        command = "~/.local/bin/sessiontui --no-zellij"

        [[hosts]]
        ssh = "gpu1"
        command = ["/opt/st/bin/sessiontui"]
        """,
    )
    build, gpu = config.hosts
    assert build.name == "build"
    assert build.ssh == "me@build.example"
    assert build.ssh_options[:3] == ("-p", "2222", "-i")
    assert not build.ssh_options[3].startswith("~")  # ssh options are local paths
    assert build.command == ("~/.local/bin/sessiontui", "--no-zellij")  # expanded remotely
    assert gpu == HostSpec(name="gpu1", ssh="gpu1", command=("/opt/st/bin/sessiontui",))
    assert config.ssh_command[:2] == ("ssh", "-F")
    assert Config().hosts == ()
    assert Config().ssh_command == ("ssh",)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('name = "x"', "'ssh' (the ssh destination) must be a non-empty string"),
        ('ssh = "-oProxyCommand=touch /tmp/pwned"', 'must not start with "-"'),
        ('ssh = "a b"', "must not contain whitespace"),
        ('ssh = "box"\nname = "a/b"', "'name' must not contain \"/\""),
        ('ssh = "box"\nssh_options = "-p 22"', "'ssh_options' must be an array"),
        ('ssh = "box"\ncommand = []', "'command' must be a program path"),
        ('ssh = "box"\ncommand = "\'unbalanced"', "'command'"),
        ('ssh = "box"\nport = 22', "unknown key 'port'"),
    ],
)
def test_bad_host_entries_name_the_line(tmp_path: Path, entry: str, expected: str) -> None:
    text = f'theme = "nord"\n\n[[hosts]]\nssh = "ok"\n\n[[hosts]]\n{entry}\n'
    message = problems(tmp_path, text)
    assert expected in message
    assert "config.toml:6: [[hosts]] #2:" in message  # the second entry's header line


def test_host_names_must_be_distinct(tmp_path: Path) -> None:
    message = problems(
        tmp_path, '[[hosts]]\nssh = "a"\nname = "x"\n[[hosts]]\nssh = "b"\nname = "x"\n'
    )
    assert "config.toml:4:" in message
    assert "used twice" in message


def test_hosts_must_be_an_array_of_tables(tmp_path: Path) -> None:
    assert "'hosts' must be an array of tables" in problems(tmp_path, 'hosts = ["a"]\n')


def test_dash_h_names_a_configured_host_or_a_destination(tmp_path: Path) -> None:
    config = load(tmp_path, '[[hosts]]\nname = "build"\nssh = "me@build"\n')
    args = parse_args(["ls", "--host", "build", "-H", "u@gpu", "-H", "u@gpu"])
    assert args.host == ["build", "u@gpu", "u@gpu"]
    hosts = resolve_hosts(args, config)
    assert [h.name for h in hosts] == ["build", "u@gpu"]
    assert hosts[0].ssh == "me@build"
    assert hosts[1] == HostSpec(name="u@gpu", ssh="u@gpu")
    # One-shot commands contact only the hosts named on the command line.
    assert resolve_hosts(parse_args(["ls"]), config, configured=False) == ()
    assert resolve_hosts(parse_args(["ls"]), config) == (hosts[0],)


def test_dash_h_refuses_an_option_as_destination(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "-H=-oProxyCommand=sh"]) == 2
    assert 'must not start with "-"' in capsys.readouterr().err


def test_ssh_argv_quotes_the_remote_command_once() -> None:
    host = HostSpec(
        name="b", ssh="me@b", ssh_options=("-p", "2222"), command=("~/bin/st tui", "--x")
    )
    transport = SshTransport(ssh=("ssh", "-F", "conf"), options=("-i", "key"))
    argv = transport.serve_argv(host)
    assert argv == [
        "ssh",
        "-F",
        "conf",
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "ServerAliveInterval=10",
        "-o",
        "ServerAliveCountMax=3",
        "-i",
        "key",
        "-p",
        "2222",
        "me@b",
        "--",
        "~/'bin/st tui' --x serve --stdio",
    ]
    attach = transport.attach_argv(host, ["tmux", "-S", "/tmp/s", "attach", "-t", "=a;rm -rf ~"])
    assert attach[:4] == ["ssh", "-F", "conf", "-t"]
    assert attach[-3:] == ["me@b", "--", "tmux -S /tmp/s attach -t '=a;rm -rf ~'"]


def test_remote_command_line_survives_a_real_shell(tmp_path: Path) -> None:
    import subprocess

    tricky = ["printf", "%s|", "a b", "$(touch pwned)", "`id`", "'q'", "~", "x;y"]
    out = subprocess.run(
        ["sh", "-c", remote_command_line(tricky)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "a b|$(touch pwned)|`id`|'q'|~|x;y|"
    assert not (tmp_path / "pwned").exists()


def test_bg_monitor_keeps_the_hosts() -> None:
    from sessiontui.cli import _forwarded_options

    assert _forwarded_options(parse_args(["--bg", "-H", "u@box", "--host", "gpu"]))[-4:] == [
        "-H",
        "u@box",
        "-H",
        "gpu",
    ]


def test_the_tui_shows_a_hub_only_when_hosts_are_given(tmp_path: Path) -> None:
    from sessiontui.cli import make_service
    from sessiontui.model.monitor import Monitor
    from sessiontui.remote.hub import Hub

    config = load(tmp_path, '[[hosts]]\nname = "build"\nssh = "me@build"\n')
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    assert make_service(monitor, parse_args([]), Config()) is monitor
    hub = make_service(monitor, parse_args(["-H", "gpu"]), config)
    assert isinstance(hub, Hub)
    assert [link.host.name for link in hub.links] == ["build", "gpu"]
    assert hub.links[0].transport.serve_argv(hub.links[0].host)[-3:] == [
        "me@build",
        "--",
        "sessiontui serve --stdio",
    ]
    hub.close()  # never started: nothing to stop, and no error


def test_docstring_examples() -> None:
    import doctest

    from sessiontui.remote import hosts, hub, link

    for module in (hosts, hub, link):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0


def test_an_ssh_uri_is_named_without_its_scheme() -> None:
    args = parse_args(["ls", "-H", "ssh://me@box:2222"])
    (host,) = resolve_hosts(args, Config())
    assert host == HostSpec(name="me@box:2222", ssh="ssh://me@box:2222")
