"""``kdt-tutor user …`` as an administrator runs it: subprocesses on a SQLite file."""

from __future__ import annotations

import json

import pytest

from knowledge.registry import make_engine
from tutor.accounts.users import AccountService

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path, cli_env):
    return cli_env(tmp_path / "data")


@pytest.fixture
def user(run_cli, env, tmp_path):
    def run(*args: str):
        return run_cli("user", *args, env=env, cwd=tmp_path, timeout=60)

    return run


def _accounts(tmp_path) -> AccountService:
    return AccountService(make_engine(f"sqlite:///{tmp_path / 'data' / 'kdt.db'}"))


def test_add_list_set_role_and_disable(user, tmp_path) -> None:
    added = user(
        "add",
        "trainee1",
        "--role",
        "trainee",
        "--course",
        "python-basics",
        "--name",
        "김민지",
        "--password",
        "demo-trainee",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added trainee trainee1 in python-basics"
    assert user("add", "admin", "--role", "admin", "--password", "demo-admin").returncode == 0

    listed = user("list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["username"], r["role"], r["course"]) for r in rows] == [
        ("admin", "admin", None),
        ("trainee1", "trainee", "python-basics"),
    ]
    assert rows[1]["display_name"] == "김민지" and rows[1]["disabled"] is False
    table = user("list").stdout
    assert "trainee1" in table and "python-basics" in table and "active" in table

    promoted = user("set-role", "trainee1", "instructor")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.strip() == "trainee1 is now instructor in python-basics"

    assert user("disable", "trainee1").returncode == 0
    assert "disabled" in user("list").stdout
    assert _accounts(tmp_path).get_user("trainee1").disabled


def test_the_password_given_on_the_command_line_logs_in(user, tmp_path) -> None:
    user("add", "inst", "--role", "instructor", "--password", "first password")
    changed = user("passwd", "inst", "--password", "second password")
    assert changed.returncode == 0, changed.stderr

    accounts = _accounts(tmp_path)
    assert accounts.authenticate("inst", "second password").role == "instructor"


def test_token_is_printed_once_and_authenticates(user, tmp_path) -> None:
    user("add", "grader", "--role", "instructor", "--password", "long enough")

    result = user("token", "grader", "--name", "ci")

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("kdt_") and "\n" not in token
    assert "shown once" in result.stderr
    assert _accounts(tmp_path).user_for_token(token).username == "grader"
    db = (tmp_path / "data" / "kdt.db").read_bytes()
    assert token.encode() not in db


def test_bad_role_exits_2_with_the_valid_choices(user) -> None:
    result = user("add", "someone", "--role", "boss", "--password", "long enough")

    assert result.returncode == 2
    assert "invalid choice: 'boss'" in result.stderr
    assert "trainee" in result.stderr and "instructor" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "ab", "--role", "admin", "--password", "long enough"), "invalid username"),
        (("add", "t2", "--role", "trainee", "--password", "long enough"), "invalid username"),
        (("add", "t22", "--role", "trainee", "--password", "long enough"), "needs a course"),
        (("add", "t22", "--role", "admin", "--password", "short"), "password too short"),
        (("set-role", "ghost", "admin"), "no user 'ghost'"),
        (("disable", "ghost"), "no user 'ghost'"),
    ],
)
def test_invalid_input_exits_2_with_a_clear_error(user, args, message) -> None:
    result = user(*args)

    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr or message.replace("needs", "belongs to") in result.stderr


def test_duplicate_is_an_error_unless_if_missing(user) -> None:
    first = ("add", "admin", "--role", "admin", "--password", "demo-admin")
    assert user(*first).returncode == 0

    duplicate = user(*first)
    assert duplicate.returncode == 2
    assert duplicate.stderr.strip() == "error: user 'admin' already exists"

    for _ in range(2):  # idempotent, and no password is needed to find out
        again = user("add", "admin", "--role", "admin", "--if-missing")
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "user admin exists; unchanged"
    assert len(json.loads(user("list", "--json").stdout)) == 1


def test_missing_password_without_a_terminal_is_an_error(user) -> None:
    result = user("add", "someone", "--role", "admin")

    assert result.returncode == 2
    assert "pass --password" in result.stderr


def test_export_then_delete_a_trainee(user, tmp_path) -> None:
    from tutor.chat.conversations import ConversationStore

    assert (
        user(
            "add", "mina", "--role", "trainee", "--course", "py", "--password", "trainee-pass"
        ).returncode
        == 0
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'kdt.db'}")
    mina = _accounts(tmp_path).get_user("mina")
    store = ConversationStore(engine)
    conversation = store.create(user_id=mina.id, course="py", title="loops")
    store.add_message(conversation.id, role="user", content="How do loops work?")

    exported = user("export", "mina", "--out", str(tmp_path / "mina.json"))
    dry_run = user("delete", "mina")
    still_there = _accounts(tmp_path).get_user("mina")
    deleted = user("delete", "mina", "--yes")

    assert exported.returncode == 0, exported.stderr
    data = json.loads((tmp_path / "mina.json").read_text(encoding="utf-8"))
    assert data["account"]["username"] == "mina"
    assert [m["content"] for m in data["messages"]] == ["How do loops work?"]
    assert dry_run.returncode == 1 and "--yes" in dry_run.stderr
    assert "1 conversations, 1 messages" in dry_run.stderr
    assert still_there.id == mina.id
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted mina" in deleted.stdout and "no longer include this trainee" in deleted.stdout
    assert user("export", "mina").returncode == 2


def test_enable_and_the_last_admin(user, tmp_path) -> None:
    user("add", "admin", "--role", "admin", "--password", "demo-admin")
    user("add", "kim", "--role", "trainee", "--course", "py", "--password", "demo-trainee")
    token = user("token", "kim").stdout.strip()
    assert user("disable", "kim").returncode == 0

    enabled = user("enable", "kim")
    assert enabled.returncode == 0, enabled.stderr
    assert "enabled kim" in enabled.stdout
    accounts = _accounts(tmp_path)
    assert not accounts.get_user("kim").disabled
    assert accounts.user_for_token(token) is None  # the old token stays revoked

    last_admin = [("disable", "admin"), ("set-role", "admin", "instructor")]
    for args in [*last_admin, ("delete", "admin", "--yes")]:
        refused = user(*args)
        assert refused.returncode == 2, (args, refused.stdout)
        assert "last active admin" in refused.stderr
    assert accounts.get_user("admin").role == "admin" and not accounts.get_user("admin").disabled
    assert user("enable", "ghost").returncode == 2
