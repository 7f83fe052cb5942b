"""The documented CASETRACK_* environment variables reach the configuration with their types."""
from casetrack import create_app


def test_environment_variables_keep_their_types(monkeypatch, tmp_path):
    env = {"CASETRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "CASETRACK_SECRET_KEY": "0123abcd",
           "CASETRACK_HTTPS": "true", "CASETRACK_PROXY_FIX": "1", "CASETRACK_LOCK_TIMEOUT": "15",
           "CASETRACK_WORKFLOW": "campaign", "CASETRACK_MAIL_SERVER": "mail.example.org:25",
           "CASETRACK_SESSION_COOKIE_SECURE": "false", "CASETRACK_ARGON2_PARAMS__time_cost": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = create_app().config
    assert config["HTTPS"] is True and config["SESSION_COOKIE_SECURE"] is False
    assert config["PROXY_FIX"] == 1 and config["LOCK_TIMEOUT"] == 15 and isinstance(config["LOCK_TIMEOUT"], int)
    assert config["SECRET_KEY"] == "0123abcd" and config["WORKFLOW"] == "campaign"
    assert config["MAIL_SERVER"] == "mail.example.org:25"
    assert config["DATABASE_URL"] == env["CASETRACK_DATABASE_URL"]
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"timeout": 15}
    assert config["ARGON2_PARAMS"] == {"time_cost": 1}   # a key of a dict setting
